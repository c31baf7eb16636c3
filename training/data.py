"""Corpus rows → trl's conversational vision format, loaded from a build folder or a Hub repo."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from core.errors import VinciError
from core.fences import fenced

from .prompts import generate_prompt, optimize_prompt, row_conventions


def as_image(value: Any):
    """A PIL image from whatever a row holds (PIL already, ``{"bytes": ...}``, raw bytes)."""
    from core.bounded import open_image

    if value is None:
        return None
    if hasattr(value, "convert"):
        return value.convert("RGB")
    data = value.get("bytes") if isinstance(value, dict) else value
    return open_image(data, "a row's image").convert("RGB")  # bounded: a corpus from the Hub is untrusted


class DataError(VinciError, ValueError):
    """``--data`` names no usable corpus; the message is one line for the user."""


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def check_data(data: str) -> None:
    """A build folder with shards, or something that can only be a Hub dataset id; else one clear error."""
    folder = Path(data).expanduser()
    if folder.is_dir():
        if not any((folder / "data").glob("*.parquet")):
            raise DataError(f"--data {data}: no shards under {folder / 'data'} (expected a folder written by vinci build)")
        return
    local = data.startswith((".", "/", "~")) or folder.exists() or Path(data.split("/")[0]).is_dir() or not HUB_ID.match(data)
    if local:
        raise DataError(f"--data {data}: no such folder (pass a vinci build folder or a Hub dataset id ORG/NAME)")
    from .encoders import hub_offline, hub_reachable

    if not hub_offline() and not hub_reachable():
        raise DataError(f"--data {data}: no such folder here, and the Hub cannot be reached to load it as a dataset id "
                        "(set HF_HUB_OFFLINE=1 to use a cached Hub dataset)")


def load_split(data: str, split: str, streaming: bool = False):
    """A split of a vinci corpus: a local build folder or a Hub dataset repo id.

    ``datasets`` caches a local folder under its *name* and config, not its content, so two builds
    in folders of the same name would share a stale cache; a build folder is therefore read from
    its shard files with a cache keyed by their checksums (from ``manifest.lock.yaml``).
    """
    import datasets

    folder = Path(data)
    if not folder.is_dir():
        return datasets.load_dataset(data, split=split, streaming=streaming)
    shards = sorted(str(p) for p in (folder / "data").glob(f"{split}-*.parquet"))
    if not shards:
        have = sorted({p.name.split("-")[0] for p in (folder / "data").glob("*.parquet")})
        raise DataError(f"{folder} has no split {split!r}; it has: {', '.join(have) or 'none'}")
    lock = folder / "manifest.lock.yaml"
    key = hashlib.sha256((lock.read_bytes() if lock.exists() else "\n".join(shards).encode())).hexdigest()[:16]
    return datasets.load_dataset("parquet", data_files={split: shards}, split=split, streaming=streaming,
                                 cache_dir=str(folder / "work" / "hf-cache" / key))


def user_turn(row: dict) -> tuple[list[dict], list]:
    """The user message (images first, then text) and the images it refers to."""
    lang = row["lang"]
    target = as_image(row["image"])
    if row["task"] == "optimize":
        flawed = as_image(row.get("flawed_image"))
        images = [target] + ([flawed] if flawed is not None else [])
        text = optimize_prompt(lang, row["flawed_code"], flawed is not None, row_conventions(row))
    else:
        images = [target]
        text = generate_prompt(lang, row_conventions(row))
    content = [{"type": "image"} for _ in images] + [{"type": "text", "text": text}]
    return [{"role": "user", "content": content}], images


def to_sft_example(row: dict) -> dict:
    """A prompt and its completion (trl's conversational prompt-completion type), the ``length`` in characters
    of their text (what ``length_buckets`` batches by) and the ``lang`` (what ``balance_languages`` balances).

    As a prompt-completion pair, trl trains on the answer only (``completion_only_loss``), as Qwen-VL's own
    fine-tuning does: a model trained on whole conversations also learns to write the fixed instruction and, for
    an optimize row, the *flawed* code it is asked to correct; and where answers are short (a SMILES string is ~9
    tokens after a ~50-token instruction) the instruction's tokens take most of each step's gradient."""
    prompt, images = user_turn(row)
    completion = [{"role": "assistant", "content": [{"type": "text", "text": fenced(row["lang"], row["code"])}]}]
    length = sum(len(part.get("text") or "") for m in prompt + completion for part in m["content"])
    return {"prompt": prompt, "completion": completion, "images": images, "length": length, "lang": row["lang"]}


def to_grpo_example(row: dict) -> dict:
    """A prompt whose target picture the visual reward compares against (column ``image``)."""
    messages, images = user_turn({**row, "task": "generate"})
    return {"prompt": messages, "image": images[0], "lang": row["lang"], "solution": row["code"],
            "render": json.dumps(row_conventions(row) or {}, sort_keys=True)}


def examples_version() -> str:
    """A hash of the source that turns rows into training examples. ``datasets`` keys its map cache on a
    fingerprint that did not change when ``to_sft_example`` did: a corpus loaded before the change kept giving the
    old examples (whole conversations) from its cache, so every cached transform here is keyed on this as well."""
    from . import prompts

    digest = hashlib.sha256()
    for module in (__file__, prompts.__file__, fenced.__code__.co_filename):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:16]


def transformed(ds, how: str, function, **kwargs):
    """``ds.filter``/``ds.map`` of ``function``, cached under the dataset's fingerprint, the function's name and
    ``examples_version`` (a streamed dataset has no cache)."""
    if not hasattr(ds, "_fingerprint"):
        return getattr(ds, how)(function, **kwargs)
    key = hashlib.sha256(f"{ds._fingerprint}:{how}:{function.__qualname__}:{examples_version()}".encode()).hexdigest()[:16]
    return getattr(ds, how)(function, new_fingerprint=key, **kwargs)


def sft_dataset(data: str, split: str = "sft", streaming: bool = False, limit: int | None = None):
    ds = load_split(data, split, streaming)
    if limit is not None:
        ds = ds.take(limit) if streaming else ds.select(range(min(limit, len(ds))))
    return transformed(ds, "map", to_sft_example, remove_columns=list(ds.column_names or []))


def grpo_dataset(data: str, split: str = "virl", streaming: bool = False, limit: int | None = None):
    ds = load_split(data, split, streaming)
    ds = transformed(ds, "filter", is_generate)
    if limit is not None:
        ds = ds.take(limit) if streaming else ds.select(range(min(limit, len(ds))))
    return transformed(ds, "map", to_grpo_example, remove_columns=list(ds.column_names or []))


def is_generate(row: dict) -> bool:
    return row["task"] == "generate"
