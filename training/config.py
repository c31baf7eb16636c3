"""Training configs: one YAML per recipe under ``training/configs/``, validated into a dataclass."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class VllmSettings:
    """trl's vLLM generation for GRPO: ``colocate`` (vLLM shares each training GPU) or ``server``
    (a separate ``trl vllm-serve`` process on GPUs of its own)."""

    mode: str = "colocate"
    gpu_memory_utilization: float = 0.3
    tensor_parallel_size: int = 1
    max_model_length: int | None = None
    enable_sleep_mode: bool = False
    server_base_url: str | None = None
    server_host: str = "0.0.0.0"
    server_port: int = 8000
    server_timeout: float = 240.0

    def __post_init__(self):
        if self.mode not in ("colocate", "server"):
            raise ValueError(f"vllm.mode must be 'colocate' or 'server', not {self.mode!r}")

    def grpo_args(self) -> dict:
        """The ``GRPOConfig`` fields these settings set."""
        return {"use_vllm": True, **{f"vllm_{f.name}": getattr(self, f.name) for f in fields(self)}}


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
    max_minutes: float | None = None  # stop after this much wall-clock training (a fixed budget)
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 16
    warmup_steps: float = 0.03  # below 1: a fraction of the steps
    lr_scheduler_type: str = "cosine"
    save_steps: int = 500
    save_total_limit: int = 3
    logging_steps: int = 10
    length_buckets: bool = False  # SFT batches of similar length in random order (training/sampling.py): less padding
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
    vllm: VllmSettings | None = None

    @classmethod
    def load(cls, path: str | Path | None, **overrides) -> "TrainConfig":
        """The config in ``path`` (``None``: defaults) with ``overrides``; errors name the file and field."""
        data = _read(path) if path else {}
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"{path}: unknown training config field(s) {unknown}; known: {sorted(f.name for f in fields(cls))}")
        for name, section in (("lora", LoraSettings), ("vllm", VllmSettings)):
            if data.get(name) is not None:
                data[name] = _section(path, name, section, data[name])
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)

    def trainer_args(self) -> dict:
        """The ``transformers.TrainingArguments`` fields both trl trainers take, from this config."""
        return dict(output_dir=self.output_dir, bf16=self.bf16, use_cpu=self.use_cpu,
                    gradient_checkpointing=self.gradient_checkpointing, learning_rate=self.learning_rate,
                    num_train_epochs=self.num_train_epochs, max_steps=self.max_steps,
                    per_device_train_batch_size=self.per_device_train_batch_size,
                    gradient_accumulation_steps=self.gradient_accumulation_steps, warmup_steps=self.warmup_steps,
                    lr_scheduler_type=self.lr_scheduler_type, save_steps=self.save_steps,
                    save_total_limit=self.save_total_limit, logging_steps=self.logging_steps, report_to=self.report_to,
                    seed=self.seed)


class ConfigError(ValueError):
    """A training config that cannot be used; the message is one line naming the file."""


def _read(path: str | Path) -> dict:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"training config {path} does not exist (configs in training/configs/: "
                          f"{', '.join(sorted(p.name for p in Path(__file__).with_name('configs').glob('*.yaml')))})")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of training config fields")
    return data


def _section(path, name: str, kind, value):
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {name} must be a mapping")
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown {name} field(s) {unknown}; known: {sorted(known)}")
    try:
        return kind(**value)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
