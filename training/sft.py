"""``vinci train sft``: supervised fine-tuning of a vision-language model with trl's ``SFTTrainer``."""
from __future__ import annotations

from .budget import budget_callbacks
from .config import TrainConfig
from .data import sft_dataset
from .models import load_model, load_processor, resolve
from .resume import Outcome, train
from .sampling import BalancedLanguages, LengthBuckets, with_sampler

# Placeholders the processor writes around and for each picture: inputs, never answers.
VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")


def peft_config(cfg: TrainConfig):
    if cfg.lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")


def sft_args(cfg: TrainConfig):
    """trl's ``SFTConfig`` for a training config (its ``trl`` fields last: they win)."""
    from trl import SFTConfig

    return cfg.trl_config(SFTConfig, max_length=None, remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": False})


def without_vision_labels(collator, tokenizer):
    """``collator`` whose labels skip the picture placeholders. trl labels every token, so each image position
    learns to predict the next ``<|image_pad|>``: measured on the canary's 1.5 M model, 50 steps of that turn
    the vision tokens into one shared vector (norm 0.6 -> 8.1, the part that differs between pictures 67% -> 2%)
    and the answer stops depending on the picture. Real Qwen-VL fine-tuning never trains on these tokens either."""
    import torch

    ids = torch.tensor([i for i in tokenizer.convert_tokens_to_ids(list(VISION_TOKENS))
                        if i is not None and i != tokenizer.unk_token_id])

    def collate(examples):
        batch = collator(examples)
        if "labels" in batch and len(ids):
            batch["labels"][torch.isin(batch["input_ids"], ids.to(batch["input_ids"].device))] = -100
        return batch

    return collate


def build_trainer(data: str, cfg: TrainConfig):
    from trl import SFTTrainer

    args = sft_args(cfg)
    path = resolve(cfg.model, cfg.output_dir)
    processor = load_processor(path)
    model = load_model(path, bf16=cfg.bf16)
    dataset = sft_dataset(data, cfg.split, cfg.streaming, cfg.limit)
    sampler = (BalancedLanguages, "lang") if cfg.balance_languages else (LengthBuckets, "length") if cfg.length_buckets else None
    trainer_class = with_sampler(SFTTrainer, *sampler) if sampler else SFTTrainer
    trainer = trainer_class(model=model, args=args, train_dataset=dataset, processing_class=processor, peft_config=peft_config(cfg),
                            callbacks=budget_callbacks(cfg.max_minutes))
    trainer.data_collator = without_vision_labels(trainer.data_collator, getattr(processor, "tokenizer", processor))
    return trainer


def train_sft(data: str, cfg: TrainConfig, resume: bool = False) -> Outcome:
    return train(build_trainer(data, cfg), cfg.output_dir, resume)
