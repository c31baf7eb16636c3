"""``vinci export``: a build's rows in layouts other trainers read without vinci's code.

* ``trl``: Parquet shards with ``messages`` (user prompt, assistant answer as a fenced block) and
  ``images`` (the target picture; for optimize rows also the flawed render): trl's conversational
  vision format, which ``SFTTrainer`` takes as is. The ``virl`` split, which ViRL trains on, holds
  prompt-only rows instead, in a config of its own (``load_dataset(OUT, "virl", split="virl")``), as
  ``GRPOTrainer`` takes them: ``prompt`` (the user turn; trl puts
  ``image`` into it), ``image`` (the target picture, also what a visual reward compares against),
  ``solution`` (the reference answer) and ``lang``; trl passes these columns to every reward
  function. A README with a ``configs`` header makes the folder loadable with ``load_dataset(OUT)``.
* ``llava``: ``<split>.json`` in the LLaVA/ShareGPT layout (``id``, ``image``, ``conversations`` of
  ``human``/``gpt`` turns, one ``<image>`` token per picture) and the pictures under ``images/``,
  each stored once under its content hash.

The prompt texts are vinci's own (``training.prompts``), so an exported row teaches what
``vinci train`` teaches. The output is assembled in a temporary folder and renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from core.atomic import write_text
from core.checksums import content_id
from core.errors import VinciError
from core.markup import front_matter
from core.fences import fenced
from training.prompts import generate_prompt, optimize_prompt, row_conventions

from .shards import SPLIT_ORDER, ShardWriter, checksums

SHARD_ROWS = 5000


class ExportError(VinciError, ValueError):
    """The build folder or the output folder cannot be used; the message names it."""


def build_splits(folder: Path) -> dict[str, list[Path]]:
    shards: dict[str, list[Path]] = {}
    for path in sorted((folder / "data").glob("*-*-of-*.parquet")):
        shards.setdefault(path.name.split("-")[0], []).append(path)
    if not shards:
        raise ExportError(f"{folder} is not a finished vinci build (no data/<split>-*.parquet)")
    return {s: shards[s] for s in sorted(shards, key=lambda s: (SPLIT_ORDER + (s,)).index(s))}


def rows_of(shards: list[Path]) -> Iterator[dict]:
    for shard in shards:
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=256):
            yield from batch.to_pylist()


def turns(row: dict) -> tuple[str, str, list[bytes]]:
    """(prompt, answer, pictures): the target first, then the flawed render where there is one."""
    lang, target = row["lang"], row["image"]["bytes"]
    if row["task"] != "optimize":
        return generate_prompt(lang, row_conventions(row)), fenced(lang, row["code"]), [target]
    flawed = (row.get("flawed_image") or {}).get("bytes")
    prompt = optimize_prompt(lang, row["flawed_code"], flawed is not None, row_conventions(row))
    return prompt, fenced(lang, row["code"]), [target] + ([flawed] if flawed else [])


def trl_schema() -> pa.Schema:
    import datasets

    string = datasets.Value("string")
    features = datasets.Features({"id": string, "lang": string, "task": string,
                                  "messages": datasets.List({"role": string, "content": string}),
                                  "images": datasets.List(datasets.Image())})
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema([("id", pa.string()), ("lang", pa.string()), ("task", pa.string()),
                        ("messages", pa.list_(message)), ("images", pa.list_(image))])
    return schema.with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


def prompt_schema() -> pa.Schema:
    """Prompt-only rows for ``GRPOTrainer``: ``prompt``, the target ``image``, the reference ``solution``."""
    import datasets

    string = datasets.Value("string")
    features = datasets.Features({"id": string, "lang": string, "task": string,
                                  "prompt": datasets.List({"role": string, "content": string}),
                                  "image": datasets.Image(), "solution": string})
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema([("id", pa.string()), ("lang", pa.string()), ("task", pa.string()),
                        ("prompt", pa.list_(message)), ("image", image), ("solution", pa.string())])
    return schema.with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


PROMPT_SPLITS = ("virl",)  # the splits RL trains on: prompts to sample from, not conversations to imitate


def conversation_row(row: dict) -> dict:
    prompt, answer, pictures = turns(row)
    return {"id": row["id"], "lang": row["lang"], "task": row["task"],
            "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
            "images": [{"bytes": p, "path": None} for p in pictures]}


def prompt_row(row: dict) -> dict:
    prompt, answer, pictures = turns({**row, "task": "generate"})
    return {"id": row["id"], "lang": row["lang"], "task": row["task"], "prompt": [{"role": "user", "content": prompt}],
            "image": {"bytes": pictures[0], "path": None}, "solution": answer}


def export_trl(splits: dict[str, list[Path]], out: Path) -> dict[str, int]:
    data, counts, written = out / "data", {}, []
    data.mkdir(parents=True)
    for split, shards in splits.items():
        prompts = split in PROMPT_SPLITS
        writer = ShardWriter(data, split, SHARD_ROWS, prompt_schema() if prompts else trl_schema())
        for row in rows_of(shards):
            if prompts and row["task"] != "generate":
                continue
            writer.write_row(prompt_row(row) if prompts else conversation_row(row))
        written += writer.finish()
        counts[split] = writer.rows
    described = f"vinci export trl {content_id(checksums(written))}"
    conversations = [{"split": s, "path": f"data/{s}-*"} for s in counts if counts[s] and s not in PROMPT_SPLITS]
    configs = [{"config_name": "default", "description": described, "data_files": conversations}] if conversations else []
    configs += [{"config_name": s, "description": f"{described}: prompts", "data_files": [{"split": s, "path": f"data/{s}-*"}]}
                for s in PROMPT_SPLITS if counts.get(s)]
    header = {"configs": configs}
    write_text(out / "README.md", front_matter(header) + "\n" + TRL_README)
    return counts


def export_llava(splits: dict[str, list[Path]], out: Path) -> dict[str, int]:
    images, counts = out / "images", {}
    images.mkdir(parents=True)
    for split, shards in splits.items():
        n = 0
        with open(out / f"{split}.json", "w", encoding="utf-8") as fh:
            fh.write("[")
            for row in rows_of(shards):
                prompt, answer, pictures = turns(row)
                names = [_store_image(images, p) for p in pictures]
                item = {"id": row["id"], "image": names[0] if len(names) == 1 else names,
                        "conversations": [{"from": "human", "value": "<image>\n" * len(names) + prompt},
                                          {"from": "gpt", "value": answer}],
                        "lang": row["lang"], "task": row["task"]}
                fh.write(("," if n else "") + "\n" + json.dumps(item, ensure_ascii=False))
                n += 1
            fh.write("\n]\n")
        counts[split] = n
    write_text(out / "README.md", LLAVA_README)
    return counts


def _store_image(folder: Path, png: bytes) -> str:
    name = f"{hashlib.sha256(png).hexdigest()[:20]}.png"
    path = folder / name
    if not path.exists():
        path.write_bytes(png)
    return f"images/{name}"


FORMATS: dict[str, Callable[[dict[str, list[Path]], Path], dict[str, int]]] = {"trl": export_trl, "llava": export_llava}


def export(folder: str | Path, fmt: str, output: str | Path, force: bool = False) -> dict[str, int]:
    """Write every split of the build ``folder`` to ``output`` in ``fmt``; rows per split."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    folder, out = Path(folder), Path(output)
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such build folder")
    splits = build_splits(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise ExportError(f"{out} exists and is not empty; choose another -o or pass --force to replace it")
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents or out.resolve() in folder.resolve().parents:
        raise ExportError(f"{out} and the build folder {folder} overlap; choose another -o")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        counts = FORMATS[fmt](splits, tmp)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(tmp, out)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


TRL_README = """# vinci export (trl)

`sft` (and `test`): rows in trl's conversational vision format, `messages` (a user prompt and the assistant's
answer, a fenced code block) and `images` (the target picture; for optimize rows also the render of the flawed code).

```python
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer
train = load_dataset("THIS_FOLDER", split="sft")
SFTTrainer(model="Qwen/Qwen2.5-VL-3B-Instruct", train_dataset=train, args=SFTConfig(output_dir="run")).train()
```

`virl`: prompt-only rows for `GRPOTrainer`: `prompt` (the user turn; trl inserts `image` into it), `image` (the
target picture), `solution` (the reference answer, a fenced block) and `lang`. trl passes every column to the reward
functions, so a reward can compare a completion's render with `image`:

```python
from trl import GRPOConfig, GRPOTrainer
prompts = load_dataset("THIS_FOLDER", "virl", split="virl")   # its own config: other columns than sft
def reward(completions, image, solution, lang, **kwargs): ...   # one float per completion
GRPOTrainer(model="Qwen/Qwen2.5-VL-3B-Instruct", reward_funcs=[reward], train_dataset=prompts,
            args=GRPOConfig(output_dir="run")).train()
```
"""

LLAVA_README = """# vinci export (LLaVA / ShareGPT)

`<split>.json`: a list of `{"id", "image", "conversations": [{"from": "human", "value": "<image>\\n..."},
{"from": "gpt", "value": "..."}], "lang", "task"}`. `image` is a path under `images/` (a list of two for optimize
rows whose flawed code renders: the target, then the flawed render; the human turn has one `<image>` per picture).
Point a LLaVA-style trainer at `<split>.json` with `images/`'s parent as the image folder.
"""
