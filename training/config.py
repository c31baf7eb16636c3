"""Training configs: one YAML per recipe under ``training/configs/``, validated into a dataclass."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from core.errors import VinciError


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
    trl: dict = field(default_factory=dict)  # any other field of trl's SFTConfig/GRPOConfig, passed through

    @classmethod
    def load(cls, path: str | Path | None, stage: str | None = None, sets: list[str] | None = None,
             **overrides) -> "TrainConfig":
        """The config ``path`` (a file, or the name of a packaged config such as ``tiny-sft``; ``None``:
        defaults), then ``sets`` (``KEY=VALUE``, dotted for sections: ``lora.r=8``), then ``overrides``.
        A key that is not a vinci field must be a field of trl's config for ``stage`` (``SFTConfig`` /
        ``GRPOConfig``; either when no stage is given) and is passed to it. Errors name the file and field."""
        file = config_path(path) if path else None
        where = str(file or "training config")
        data = _read(file) if file else {}
        for item in sets or []:
            _apply_set(data, item)
        data.update({k: v for k, v in overrides.items() if v is not None})
        section = data.pop("trl", None) or {}
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: trl must be a mapping of trl config fields")
        ours = {f.name for f in fields(cls)}
        extra = {**section, **{k: data.pop(k) for k in list(data) if k not in ours}}
        data["trl"] = _trl_fields(where, extra, stage)
        for name, section in (("lora", LoraSettings), ("vllm", VllmSettings)):
            if data.get(name) is not None:
                data[name] = _section(where, name, section, data[name])
        from pydantic import TypeAdapter, ValidationError

        try:
            return TypeAdapter(cls).validate_python(data)
        except ValidationError as exc:
            raise ConfigError(f"{where}: " + "; ".join(_describe(e) for e in exc.errors())) from None

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


def trl_config(kind, where: str, values: dict):
    """trl's ``kind`` (``SFTConfig``/``GRPOConfig``) from ``values``; a value trl refuses is a ``ConfigError``."""
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: trl's {kind.__name__} refused it: {(str(exc).splitlines() or [''])[0]}") from None


class ConfigError(VinciError, ValueError):
    """A training config that cannot be used; the message is one line naming the file."""


CONFIGS = Path(__file__).with_name("configs")


def packaged_configs() -> list[str]:
    return sorted(p.stem for p in CONFIGS.glob("*.yaml"))


def config_path(spec: str | Path) -> Path:
    """A config file as given, else a packaged one by name (``tiny-sft``, ``tiny-sft.yaml``), else a
    packaged one by its path in the repository (``training/configs/tiny-sft.yaml`` from any folder)."""
    given = Path(spec)
    if given.is_file():
        return given
    for candidate in (CONFIGS / given.name, CONFIGS / f"{given.name}.yaml"):
        if candidate.is_file() and (given.parent in (Path("."), Path("training/configs")) or given.parent.parts[-2:] == ("training", "configs")):
            return candidate
    raise ConfigError(f"training config {spec} does not exist (packaged configs, by name: {', '.join(packaged_configs())})")


def _read(file: Path) -> dict:
    from core.inputs import InputError, read_utf8

    try:
        data = yaml.safe_load(read_utf8(file))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of training config fields")
    return data


def _apply_set(data: dict, item: str) -> None:
    """``--set KEY=VALUE``: the value is read as YAML (``2``, ``1.0e-5``, ``true``, ``[q_proj]``)."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    *parents, last = key.split(".")
    target = data
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[last] = value


def trl_config_fields(stage: str | None) -> set[str]:
    """The fields of trl's config dataclass for ``stage`` (``sft``: ``SFTConfig``, ``virl``: ``GRPOConfig``)."""
    from trl import GRPOConfig, SFTConfig

    classes = {"sft": [SFTConfig], "virl": [GRPOConfig]}.get(stage or "", [SFTConfig, GRPOConfig])
    return {f.name for c in classes for f in fields(c) if f.init}


def _trl_fields(where: str, extra: dict, stage: str | None) -> dict:
    if not extra:
        return {}
    known = trl_config_fields(stage)
    unknown = sorted(set(extra) - known)
    if unknown:
        import difflib

        ours = sorted(f.name for f in fields(TrainConfig) if f.name != "trl")
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, ours + sorted(known), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        owner = {"sft": "SFTConfig", "virl": "GRPOConfig"}.get(stage or "", "SFTConfig or GRPOConfig")
        raise ConfigError(f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(hints)}: neither a vinci "
                          f"training field ({', '.join(ours)}) nor a field of trl's {owner}")
    return extra


def _describe(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "<root>"
    return f"{where}: {error['msg'].removeprefix('Value error, ')} (got {error.get('input')!r})"


def _section(where: str, name: str, kind, value) -> dict:
    """A section's field names checked here (the values are checked with the rest of the config)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {name} must be a mapping")
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown {name} field(s) {unknown}; known: {sorted(known)}")
    return value
