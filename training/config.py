"""Training configs: one YAML per recipe under ``training/configs/``, validated into a dataclass."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class TrainConfig:
    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    split: str = "sft"
    output_dir: str = "runs/sft"
    lora: LoraSettings | None = None
    bf16: bool = True
    gradient_checkpointing: bool = True
    learning_rate: float = 1e-5
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 16
    warmup_steps: float = 0.03  # below 1: a fraction of the steps
    lr_scheduler_type: str = "cosine"
    save_steps: int = 500
    save_total_limit: int = 3
    logging_steps: int = 10
    use_cpu: bool = False
    limit: int | None = None
    streaming: bool = False
    seed: int = 0
    report_to: str = "none"
    num_generations: int = 8
    max_completion_length: int = 2048
    temperature: float = 1.0
    beta: float = 0.0
    reward: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None, **overrides) -> "TrainConfig":
        data = yaml.safe_load(Path(path).read_text()) if path else {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown training config field(s) {unknown}; known: {sorted(known)}")
        if data.get("lora") is not None:
            data["lora"] = LoraSettings(**data["lora"])
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)
