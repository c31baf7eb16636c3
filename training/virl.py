"""``vinci train virl``: visual RL with trl's ``GRPOTrainer`` and the coarse-to-fine visual reward."""
from __future__ import annotations

from pathlib import Path

from .config import TrainConfig
from .data import grpo_dataset
from .models import build_tiny_dinov2, load_model, load_processor, resolve
from .resume import Outcome, train
from .rewards import RewardConfig, VisualCodeReward
from .sft import peft_config


def reward_for(cfg: TrainConfig) -> VisualCodeReward:
    settings = RewardConfig(**cfg.reward)
    if settings.encoder == "tiny:dinov2":
        settings.encoder = str(build_tiny_dinov2(Path(cfg.output_dir) / "tiny-dinov2"))
    return VisualCodeReward(settings)


def build_trainer(data: str, cfg: TrainConfig, reward: VisualCodeReward | None = None,
                  extra_rewards: list | None = None, extra_weights: list[float] | None = None):
    """A ``GRPOTrainer`` whose rewards are ``visual`` and ``format`` (plus any extra trl reward callables)."""
    from trl import GRPOConfig, GRPOTrainer

    reward = reward or reward_for(cfg)
    extra_rewards, extra_weights = extra_rewards or [], extra_weights or []
    path = resolve(cfg.model, cfg.output_dir)
    processor = load_processor(path)
    model = load_model(path, bf16=cfg.bf16)
    args = GRPOConfig(
        output_dir=cfg.output_dir, bf16=cfg.bf16, use_cpu=cfg.use_cpu, gradient_checkpointing=cfg.gradient_checkpointing,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.num_train_epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, warmup_steps=cfg.warmup_steps,
        lr_scheduler_type=cfg.lr_scheduler_type, save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps, report_to=cfg.report_to, seed=cfg.seed,
        num_generations=cfg.num_generations, max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature, beta=cfg.beta,
        reward_weights=[reward.config.visual_weight, reward.config.format_weight, *extra_weights],
    )
    dataset = grpo_dataset(data, cfg.split, cfg.streaming, cfg.limit)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward.visual, reward.format, *extra_rewards], args=args, train_dataset=dataset,
                          processing_class=processor, peft_config=peft_config(cfg))
    return trainer, reward


def train_virl(data: str, cfg: TrainConfig, resume: bool = False) -> Outcome:
    trainer, reward = build_trainer(data, cfg)
    try:
        return train(trainer, cfg.output_dir, resume)
    finally:
        reward.close()
