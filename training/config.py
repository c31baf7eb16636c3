"""Training configs: one YAML per recipe under ``training/configs/``, validated on load as the build
manifest is (``core.validation``: unknown keys get "did you mean", a wrong type is one line naming the
file and key).

A config holds vinci's own settings (model, data split, LoRA, vLLM, reward, budgets) and trl's. trl's
are not copied here: any field of trl's ``SFTConfig`` (sft) or ``GRPOConfig`` (virl) may be given, at the
top level or under ``trl:``, and is checked against trl's own type for it (``dataclasses.fields`` and the
type hints of trl's class), so a field trl adds tomorrow needs no change here. ``TRL_DEFAULTS`` are the
values vinci's recipes start from where they differ from trl's.
"""
from __future__ import annotations

import dataclasses
import functools
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator

from core.errors import VinciError
from core.validation import Strict, describe, did_you_mean

from .rewards import RewardConfig

# trl fields whose default vinci's recipes change (a field one trainer lacks is passed only to the other).
TRL_DEFAULTS: dict[str, Any] = {
    "gradient_checkpointing": True, "learning_rate": 1e-5, "num_train_epochs": 1.0, "max_steps": -1,
    "per_device_train_batch_size": 1, "gradient_accumulation_steps": 16,
    "warmup_steps": 0.03,  # below 1: a fraction of the steps
    "lr_scheduler_type": "cosine", "save_steps": 500, "save_total_limit": 3, "logging_steps": 10, "use_cpu": False,
    "seed": 0, "report_to": "none",
    "num_generations": 8, "max_completion_length": 2048, "temperature": 1.0, "beta": 0.0,  # GRPO
}
TRL_CLASSES = {"sft": "SFTConfig", "virl": "GRPOConfig"}


class ConfigError(VinciError, ValueError):
    """A training config that cannot be used; the message is one line naming the file."""


class LoraSettings(Strict):
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1)


class VllmSettings(Strict):
    """trl's vLLM generation for GRPO: ``colocate`` (vLLM shares each training GPU) or ``server``
    (a separate ``trl vllm-serve`` process on GPUs of its own). Each field is trl's ``vllm_<name>``."""

    mode: str = "colocate"
    gpu_memory_utilization: float = Field(0.3, gt=0, le=1)
    tensor_parallel_size: int = Field(1, ge=1)
    max_model_length: int | None = Field(None, gt=0)
    enable_sleep_mode: bool = False
    server_base_url: str | None = None
    server_host: str = "0.0.0.0"
    server_port: int = Field(8000, gt=0, lt=65536)
    server_timeout: float = Field(240.0, gt=0)

    @field_validator("mode")
    @classmethod
    def _mode(cls, mode: str) -> str:
        if mode not in ("colocate", "server"):
            raise ValueError(f"vllm.mode must be 'colocate' or 'server', not {mode!r}")
        return mode

    def grpo_args(self) -> dict:
        """The ``GRPOConfig`` fields these settings set."""
        return {"use_vllm": True, **{f"vllm_{name}": getattr(self, name) for name in type(self).model_fields}}


class TrainConfig(Strict):
    """vinci's settings; ``trl``: the trl fields the config gives (checked against trl's types)."""

    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    split: str = "sft"
    output_dir: str = "runs/sft"  # also trl's
    bf16: bool = True  # also trl's; the model is loaded in bf16 too
    lora: LoraSettings | None = None
    max_minutes: float | None = Field(None, gt=0)  # stop after this much wall-clock training (a fixed budget)
    length_buckets: bool = False  # SFT batches of similar length in random order (training/sampling.py): less padding
    balance_languages: bool = False  # SFT: every batch holds each language in equal numbers (training/sampling.py; wins over length_buckets)
    limit: int | None = Field(None, gt=0)
    streaming: bool = False
    reward: RewardConfig = Field(default_factory=RewardConfig)
    vllm: VllmSettings | None = None
    trl: dict[str, Any] = Field(default_factory=dict)
    _where: str = PrivateAttr("training config")

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
        if shared := sorted(set(section) & set(SHARED)):
            raise ConfigError(f"{where}: trl.{shared[0]} is vinci's field too: give it at the top level")
        extra = {**section, **{k: data.pop(k) for k in list(data) if k not in cls.model_fields}}
        data["trl"], problems = check_trl_values(where, extra, stage)
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            problems += [describe(e, cls, with_input=True) for e in exc.errors()]
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        config._where = where
        return config

    def trl_value(self, name: str) -> Any:
        """A trl field's value under this config: given, else vinci's default (``None``: trl's own)."""
        if name in SHARED:
            return getattr(self, name)
        return self.trl.get(name, TRL_DEFAULTS.get(name))

    def trl_config(self, kind: type, **fixed):
        """trl's ``kind`` (``SFTConfig``/``GRPOConfig``): vinci's defaults and shared fields that are fields of
        ``kind``, then ``fixed`` (what the trainer needs), then the config's own trl values (they win). A value
        trl refuses is a ``ConfigError`` naming the file."""
        names = trl_field_types(kind)
        ours = {**TRL_DEFAULTS, **{name: getattr(self, name) for name in SHARED}}
        values = {**{k: v for k, v in ours.items() if k in names}, **fixed, **self.trl}
        try:
            return kind(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{self._where}: trl's {kind.__name__} refused it: {(str(exc).splitlines() or [''])[0]}") from None


SHARED = ("output_dir", "bf16")  # vinci's fields that are trl's too (tests/training/test_config.py checks this list)

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


def trl_classes(stage: str | None) -> list[type]:
    """trl's config class for ``stage`` (``sft``: ``SFTConfig``, ``virl``: ``GRPOConfig``; ``None``: both)."""
    import trl

    return [getattr(trl, TRL_CLASSES[s]) for s in ([stage] if stage in TRL_CLASSES else TRL_CLASSES)]


@functools.cache
def trl_field_types(kind: type) -> dict[str, Any]:
    """Every field of trl's config dataclass ``kind`` that its constructor takes, with its type hint."""
    hints = typing.get_type_hints(kind)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(kind) if f.init}


def trl_config_fields(stage: str | None) -> set[str]:
    """The fields of trl's config dataclass for ``stage`` (``sft``: ``SFTConfig``, ``virl``: ``GRPOConfig``)."""
    return {name for kind in trl_classes(stage) for name in trl_field_types(kind)}


@functools.cache
def _adapter(kind: type, name: str):
    from pydantic import ConfigDict, TypeAdapter

    return TypeAdapter(trl_field_types(kind)[name], config=ConfigDict(arbitrary_types_allowed=True))


def check_trl_values(where: str, values: dict, stage: str | None) -> tuple[dict, list[str]]:
    """``values`` checked against trl's fields for ``stage``: an unknown name is a ``ConfigError`` with "did you
    mean" (vinci's fields and trl's); returns the values as trl's types read them (``"1e-5"`` a float, ``1`` for
    a float field ``1.0``) and one phrase per value of the wrong type."""
    if not values:
        return {}, []
    classes = trl_classes(stage)
    known = {name: kind for kind in reversed(classes) for name in trl_field_types(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        ours = sorted(name for name in TrainConfig.model_fields if name != "trl")
        hints = [f"{name!r}{did_you_mean(name, ours + sorted(known))}" for name in unknown]
        owner = " or ".join(c.__name__ for c in classes)
        raise ConfigError(f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(hints)}: neither a vinci "
                          f"training field ({', '.join(ours)}) nor a field of trl's {owner}")
    checked, problems = {}, []
    for name, value in values.items():
        try:
            checked[name] = _adapter(known[name], name).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            problems.append(f"{name}: {first['msg']} (got {value!r})")
    return checked, problems
