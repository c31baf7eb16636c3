"""Shards, dataset card, stats and lock file: everything a build folder holds for its users."""
from __future__ import annotations

import json
import os
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from core.atomic import write_json, write_text, write_yaml
from core.checksums import content_id, sha256_file
from core.exclusions import Exclusion, read_unit_exclusions
from core.exclusions import schema as excluded_schema
from core.markup import front_matter, md_code, md_name, md_text
from core.records import Record, arrow_schema, hf_features, to_arrow_row
from core.stats import Stats

from .source_images import distance_summary

SPLIT_ORDER = ("sft", "virl", "test")
ROW_GROUP = 128
PACKAGES = ("vinci", "datasets", "pyarrow", "matplotlib", "cairosvg", "rdkit", "playwright", "imagehash", "pypdfium2", "numpy", "pillow")


def shard_schema() -> pa.Schema:
    features = hf_features()
    return arrow_schema().with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


class ShardWriter:
    """Rolls a new Parquet file every ``shard_rows`` rows; final names once the count is known."""

    def __init__(self, data_dir: Path, split: str, shard_rows: int, schema: pa.Schema | None = None):
        self.data_dir, self.split, self.shard_rows = data_dir, split, shard_rows
        self.parts: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.in_part = 0
        self.rows = 0
        self.buffer: list[dict] = []
        self.schema = schema or shard_schema()

    def write(self, record: Record) -> None:
        self.write_row(to_arrow_row(record))

    def write_row(self, row: dict) -> None:
        if self.writer is None or self.in_part >= self.shard_rows:
            self._roll()
        self.buffer.append(row)
        self.in_part += 1
        self.rows += 1
        if len(self.buffer) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def _roll(self) -> None:
        if self.writer is not None:
            self._flush()
            self.writer.close()
        part = self.data_dir / f".{self.split}-{len(self.parts):05d}.partial"
        self.parts.append(part)
        self.writer = pq.ParquetWriter(part, self.schema, compression="zstd", write_page_index=False)
        self.in_part = 0

    def finish(self) -> list[Path]:
        if self.writer is not None:
            self._flush()
            self.writer.close()
        total = len(self.parts)
        final = []
        for i, part in enumerate(self.parts):
            target = self.data_dir / f"{self.split}-{i:05d}-of-{total:05d}.parquet"
            os.replace(part, target)
            final.append(target)
        return final


def write_outputs(out: Path, manifest, rows: Iterable[tuple[str, Record]], stats: Stats, limit: int | None,
                  unit_exclusions: Iterable[Path] = (), global_drops: Iterable[Exclusion] = ()) -> None:
    """Shards, then exclusion records, stats, lock file and card (each file by rename)."""
    data_dir = _fresh(out / "data")
    writers: dict[str, ShardWriter] = {}
    for split, record in rows:
        if split not in writers:
            writers[split] = ShardWriter(data_dir, split, manifest.shard_rows)
        writers[split].write(record)
        stats.add("write", record.lang, f"{split}:{record.task}")
        stats.licenses[record.license] += 1
    shards = [p for split in SPLIT_ORDER if split in writers for p in writers[split].finish()]
    _remove_stale(data_dir, shards)
    drops = chain_exclusions(unit_exclusions, global_drops)
    excluded, by_reason = write_exclusions(out / "excluded", drops, manifest.shard_rows)
    counts = {s: w.rows for s, w in writers.items()}
    sums = checksums(shards)
    build_id = content_id(sums)
    write_json(out / "stats.json", {"manifest": manifest.name, "build_id": build_id, "rows": counts,
                                    "excluded": {"rows": sum(by_reason.values()), "by_reason": dict(sorted(by_reason.items()))},
                                    **stats.to_dict(), "table": stats.table(),
                                    "source_phash_distance": distance_summary(stats)})
    write_yaml(out / "manifest.lock.yaml", lock(manifest, sums, limit, checksums(excluded)))
    write_text(out / "README.md", dataset_card(manifest, stats, counts, by_reason, build_id, limit))


def _fresh(folder: Path) -> Path:
    """``folder`` created, without the partial files of an interrupted write."""
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(".*.partial"):
        leftover.unlink()
    return folder


def _remove_stale(folder: Path, keep: list[Path]) -> None:
    for stale in set(folder.glob("*.parquet")) - set(keep):
        stale.unlink()


def chain_exclusions(unit_files: Iterable[Path], global_drops: Iterable[Exclusion]) -> Iterator[Exclusion]:
    """Unit exclusions in unit order, then the global drops in the order they were made: the same every run."""
    yield from read_unit_exclusions(unit_files)
    yield from global_drops


def write_exclusions(folder: Path, exclusions: Iterable[Exclusion], shard_rows: int) -> tuple[list[Path], Counter]:
    """``excluded/excluded-NNNNN-of-MMMMM.parquet`` beside the shards; counts per ``stage: reason``."""
    writer = ShardWriter(_fresh(folder), "excluded", shard_rows, excluded_schema())
    by_reason: Counter = Counter()
    for exclusion in exclusions:
        writer.write_row(exclusion.to_row())
        by_reason[f"{exclusion.stage}: {exclusion.reason}"] += 1
    files = writer.finish()
    _remove_stale(folder, files)
    return files, by_reason


def lock(manifest, shards: dict[str, dict], limit: int | None, excluded: dict[str, dict] | None = None) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"manifest": manifest.model_dump(mode="json"), "fingerprint": manifest.fingerprint(), "limit": limit,
            "packages": versions, "shards": shards, "excluded": excluded or {}}


def checksums(paths: Iterable[Path]) -> dict[str, dict]:
    return {p.name: {"sha256": sha256_file(p), "rows": pq.read_metadata(p).num_rows} for p in paths}


def dataset_card(manifest, stats: Stats, counts: dict[str, int], excluded: Counter | None = None,
                 build_id: str = "", limit: int | None = None) -> str:
    from .summary import skipped_text

    licenses = sorted(stats.licenses)
    header = {
        "configs": [{"config_name": "default", "description": f"vinci build {build_id}",
                     "data_files": [{"split": s, "path": f"data/{s}-*"} for s in SPLIT_ORDER if counts.get(s)]}],
        "license": card_license(licenses),
        "task_categories": ["image-to-text"],
        "tags": ["code", "multimodal", "image-to-code", "vinci"],
        "pretty_name": f"vinci · {manifest.name}",
    }
    by = Counter()
    for count, n in stats.counts.items():
        if count.stage == "write":
            split, task = count.key.split(":")
            by[(split, count.lang, task)] += n
    rows = "\n".join(f"| {md_name(s)} | {md_name(l)} | {md_name(t)} | {n:,} |" for (s, l, t), n in sorted(by.items()))
    sources = "\n".join(f"| {md_code(e.source, table=True)} | {e.quota(limit):,} | {stats.source_counts(i).get('harvested', 0):,} | "
                        f"{skipped_text(stats.source_counts(i))} | {md_text(e.why or '')} |"  # skip reasons are vinci's own slugs
                        for i, e in enumerate(manifest.sources))
    first = next((s for s in SPLIT_ORDER if counts.get(s)), "sft")
    limited = f" (quotas capped by `--limit {limit}`)" if limit else ""
    licenses_text = ", ".join(md_code(name) for name in licenses)
    return (front_matter(header) + "\n"
            f"# {md_text(manifest.name)}\n\n{manifest.description or 'An image–code corpus built with vinci.'}\n\n"
            "Each row pairs a picture with the code that renders it (`task: generate`), or a target picture, flawed code and "
            "its render with the corrected code (`task: optimize`). Every image is the render of its code by vinci's "
            "sandboxed renderers; rows that failed to render, rendered blank or degenerate, or duplicated another row "
            "(exactly, or within the perceptual-hash radius) were dropped, and each drop is recorded in `excluded/`.\n\n"
            f"```python\nfrom datasets import load_dataset\nds = load_dataset(\"PATH_OR_REPO\")  # splits: "
            f"{', '.join(s for s in SPLIT_ORDER if counts.get(s)) or 'none'}\nds[\"{first}\"][0]\n```\n\n"
            f"Build `{build_id}`: the card's config names it, so after a rebuild into the same folder `load_dataset` reads "
            "the new rows, never a cached copy of the old ones.\n\n"
            f"## Rows\n\n| split | lang | task | rows |\n|---|---|---|---|\n{rows}\n\n"
            f"{use_outside_vinci([s for s in SPLIT_ORDER if counts.get(s)])}\n\n"
            f"## Sources\n\n| source | quota | rows harvested | files skipped | why |\n|---|---|---|---|---|\n{sources}\n\n"
            f"Quotas are the rows asked of each source{limited}.\n\n"
            f"Licences of the rows: {licenses_text or 'see the `license` column'}. Each row's `license` and "
            "`source_ref` say exactly where it came from.\n\n"
            f"## How it was built\n\n`vinci build` with manifest {md_code(manifest.name)} (fingerprint `{manifest.fingerprint()}`, seed "
            f"{manifest.seed}); the resolved manifest, package versions and shard checksums are in `manifest.lock.yaml`, "
            f"per-stage counts in `stats.json`. Perceptual dedup radius: {manifest.dedup.phash_radius} bits of a 64-bit pHash; "
            "`virl`/`test` are held out from `sft` by near-duplicate cluster.\n\n"
            f"{_extra_sections(manifest, stats)}"
            f"{excluded_section(excluded or Counter())}\n")


HUB_LICENSES = ("apache-2.0", "mit", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0",
                "bsd-2-clause", "bsd-3-clause", "gpl-2.0", "gpl-3.0", "lgpl-3.0", "mpl-2.0", "unlicense", "odc-by")


def card_license(licenses: list[str]) -> str:
    """The Hub's ``license:`` of the card: the rows' one licence where its first word is a Hub licence id
    (``CC0-1.0 (procedurally generated)`` → ``cc0-1.0``), else ``other``: a mix, or a licence the Hub does
    not name (each row's ``license`` column says which)."""
    ids = {(text.split() or [""])[0].lower() for text in licenses}
    return ids.pop() if len(ids) == 1 and next(iter(ids)) in HUB_LICENSES else "other"


def use_outside_vinci(splits: list[str]) -> str:
    """The export section, its snippets naming splits this build has (``virl`` is exported as prompts)."""
    conversation = next((s for s in splits if s != "virl"), None)
    text = USE_OUTSIDE_VINCI.replace('split="sft"', f'split="{conversation}"') if conversation else USE_OUTSIDE_VINCI
    if "virl" in splits:
        text += VIRL_PROMPTS
    return text


VIRL_PROMPTS = """

The `virl` split is exported as prompt-only rows for trl's `GRPOTrainer`, in a config of its own:
`load_dataset("OUT", "virl", split="virl")` gives `prompt` (the user turn; trl inserts `image` into it), `image` (the
target picture a visual reward compares against), `solution` (the reference answer) and `lang`, all passed to the
reward functions."""


USE_OUTSIDE_VINCI = """## Use it outside vinci

`vinci export DIR --format trl -o OUT` writes rows in trl's conversational vision format (`messages` with the
prompt and the fenced answer, `images` with the target picture, and for optimize rows the flawed render), ready for
`SFTTrainer`:

```python
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer
train = load_dataset("OUT", split="sft")      # columns: messages, images, id, lang, task
SFTTrainer(model="Qwen/Qwen2.5-VL-3B-Instruct", train_dataset=train, args=SFTConfig(output_dir="run")).train()
```

`vinci export DIR --format llava -o OUT` writes `OUT/<split>.json` in the LLaVA/ShareGPT layout (`id`, `image`,
`conversations` of `human`/`gpt` turns with one `<image>` token per picture) and the pictures under `OUT/images/`."""


def excluded_section(by_reason: Counter) -> str:
    total = sum(by_reason.values())
    table = "\n".join(f"| {md_name(reason)} | {n:,} |" for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    return (f"## Excluded samples\n\n{total:,} samples and perturbations were dropped. Each one is recorded in "
            "the build folder's `excluded/excluded-*.parquet` (id, stage, reason, the error line, source, source_ref, the "
            "code, and its render where one exists; kept out of `vinci push`, as decontamination drops hold benchmark "
            "rows); `vinci inspect DIR --excluded [--reason R] -o sheet.png` draws them, and "
            "`load_dataset(\"parquet\", data_files=\"DIR/excluded/*.parquet\")` loads them.\n\n"
            f"| stage: reason | samples |\n|---|---|\n{table}")


def _extra_sections(manifest, stats: Stats) -> str:
    from filters.decontaminate import card_section as decontamination
    from filters.execution import card_section as missing_modules
    from pipelines.cost import card_section as cost
    from pipelines.source_images import card_section as source_pictures

    return (decontamination(manifest.dedup.targets(), stats) + missing_modules(stats) + source_pictures(stats)
            + cost(stats))
