"""``vinci train sft``: supervised fine-tuning of a vision-language model with trl's ``SFTTrainer``."""
from __future__ import annotations

from .budget import budget_callbacks
from .config import TrainConfig
from .data import sft_dataset
from .models import load_model, load_processor, resolve
from .resume import Outcome, train
from .sampling import with_length_buckets


def peft_config(cfg: TrainConfig):
    if cfg.lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")


def build_trainer(data: str, cfg: TrainConfig):
    from trl import SFTConfig, SFTTrainer

    path = resolve(cfg.model, cfg.output_dir)
    processor = load_processor(path)
    model = load_model(path, bf16=cfg.bf16)
    args = SFTConfig(
        output_dir=cfg.output_dir, max_length=None, bf16=cfg.bf16, use_cpu=cfg.use_cpu,
        gradient_checkpointing=cfg.gradient_checkpointing, learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, warmup_steps=cfg.warmup_steps,
        lr_scheduler_type=cfg.lr_scheduler_type, save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps, report_to=cfg.report_to, seed=cfg.seed, remove_unused_columns=False,
        dataset_kwargs={"skip_prepare_dataset": False},
    )
    dataset = sft_dataset(data, cfg.split, cfg.streaming, cfg.limit)
    trainer_class = with_length_buckets(SFTTrainer) if cfg.length_buckets else SFTTrainer
    return trainer_class(model=model, args=args, train_dataset=dataset, processing_class=processor, peft_config=peft_config(cfg),
                         callbacks=budget_callbacks(cfg.max_minutes))


def train_sft(data: str, cfg: TrainConfig, resume: bool = False) -> Outcome:
    return train(build_trainer(data, cfg), cfg.output_dir, resume)
