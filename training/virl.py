"""``vinci train virl``: visual RL with trl's ``GRPOTrainer`` and the coarse-to-fine visual reward."""
from __future__ import annotations

from .budget import budget_callbacks
from .config import TrainConfig
from .data import grpo_dataset
from .encoders import resolve_encoder
from .models import load_model, load_processor, resolve
from .resume import Outcome, train
from .rewards import RewardConfig, VisualCodeReward
from .sft import peft_config


def reward_config(cfg: TrainConfig) -> RewardConfig:
    """The config's reward settings (checked on load) with the encoder resolved (``tiny:dinov2`` built once)."""
    return cfg.reward.model_copy(update={"encoder": resolve_encoder(cfg.reward.encoder, cfg.output_dir)})


def reward_for(cfg: TrainConfig) -> VisualCodeReward:
    return VisualCodeReward(reward_config(cfg))


def grpo_args(cfg: TrainConfig, reward_weights: list[float]):
    """trl's ``GRPOConfig`` for a training config (generation through vLLM where ``vllm:`` is set)."""
    from trl import GRPOConfig

    return cfg.trl_config(GRPOConfig, reward_weights=reward_weights, **(cfg.vllm.grpo_args() if cfg.vllm is not None else {}))


def build_trainer(data: str, cfg: TrainConfig, reward: VisualCodeReward | None = None,
                  extra_rewards: list | None = None, extra_weights: list[float] | None = None):
    """A ``GRPOTrainer`` whose rewards are ``visual`` and ``format`` (plus any extra trl reward callables)."""
    from trl import GRPOTrainer

    reward = reward or reward_for(cfg)
    extra_rewards, extra_weights = extra_rewards or [], extra_weights or []
    args = grpo_args(cfg, [reward.config.visual_weight, reward.config.format_weight, *extra_weights])
    path = resolve(cfg.model, cfg.output_dir)
    processor = load_processor(path)
    model = load_model(path, bf16=cfg.bf16)
    dataset = grpo_dataset(data, cfg.split, cfg.streaming, cfg.limit)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward.visual, reward.format, *extra_rewards], args=args, train_dataset=dataset,
                          processing_class=processor, peft_config=peft_config(cfg), callbacks=budget_callbacks(cfg.max_minutes))
    return trainer, reward


def train_virl(data: str, cfg: TrainConfig, resume: bool = False) -> Outcome:
    trainer, reward = build_trainer(data, cfg)
    try:
        outcome = train(trainer, cfg.output_dir, resume)
    except BaseException:  # Ctrl-C included: the renderers are killed, not drained
        reward.abort()
        raise
    reward.close()
    return outcome
