"""Shards, dataset card, stats and lock file: everything a build folder holds for its users."""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .records import Record, arrow_schema, hf_features, to_arrow_row
from .source_images import distance_summary
from .stats import Stats

SPLIT_ORDER = ("sft", "virl", "test")
ROW_GROUP = 128
PACKAGES = ("vinci", "datasets", "pyarrow", "matplotlib", "cairosvg", "rdkit", "playwright", "imagehash", "pypdfium2", "numpy", "pillow")


def shard_schema() -> pa.Schema:
    features = hf_features()
    return arrow_schema().with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


class ShardWriter:
    """Rolls a new Parquet file every ``shard_rows`` rows; final names once the count is known."""

    def __init__(self, data_dir: Path, split: str, shard_rows: int):
        self.data_dir, self.split, self.shard_rows = data_dir, split, shard_rows
        self.parts: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.in_part = 0
        self.rows = 0
        self.buffer: list[dict] = []
        self.schema = shard_schema()

    def write(self, record: Record) -> None:
        if self.writer is None or self.in_part >= self.shard_rows:
            self._roll()
        self.buffer.append(to_arrow_row(record))
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


def write_outputs(out: Path, manifest, rows: Iterable[tuple[str, Record]], stats: Stats, limit: int | None) -> None:
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for leftover in data_dir.glob(".*.partial"):
        leftover.unlink()
    writers: dict[str, ShardWriter] = {}
    for split, record in rows:
        if split not in writers:
            writers[split] = ShardWriter(data_dir, split, manifest.shard_rows)
        writers[split].write(record)
        stats.add("write", record.lang, f"{split}:{record.task}")
        stats.add("licence", record.lang, record.license)
    shards = [p for split in SPLIT_ORDER if split in writers for p in writers[split].finish()]
    for stale in set(data_dir.glob("*.parquet")) - set(shards):
        stale.unlink()
    counts = {s: w.rows for s, w in writers.items()}
    write_json(out / "stats.json", {"manifest": manifest.name, "rows": counts, **stats.to_dict(), "table": stats.table(),
                                    "source_phash_distance": distance_summary(stats)})
    write_yaml(out / "manifest.lock.yaml", lock(manifest, shards, limit))
    (out / "README.md").write_text(dataset_card(manifest, stats, counts))


def write_json(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False))
    os.replace(tmp, path)


def write_yaml(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lock(manifest, shards: list[Path], limit: int | None) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"manifest": manifest.model_dump(mode="json"), "fingerprint": manifest.fingerprint(), "limit": limit,
            "packages": versions, "shards": {p.name: {"sha256": sha256_file(p), "rows": pq.read_metadata(p).num_rows} for p in shards}}


def dataset_card(manifest, stats: Stats, counts: dict[str, int]) -> str:
    header = {
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}-*"} for s in SPLIT_ORDER if s in counts]}],
        "task_categories": ["image-to-text"],
        "tags": ["code", "multimodal", "image-to-code", "vinci"],
        "pretty_name": f"vinci · {manifest.name}",
    }
    by = Counter()
    for key, n in stats.counts.items():
        stage, lang, what = key.split("|", 2)
        if stage == "write":
            split, task = what.split(":")
            by[(split, lang, task)] += n
    rows = "\n".join(f"| {s} | {l} | {t} | {n:,} |" for (s, l, t), n in sorted(by.items()))
    sources = "\n".join(f"| `{e.source}` | {e.n:,} | {e.why or ''} |" for e in manifest.sources)
    licences = sorted({_licence(key) for key in stats.counts if key.startswith("licence|")})
    drops = "\n".join(f"| {reason} | {n:,} |" for reason, n in stats.top_drop_reasons(12))
    return ("---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n"
            f"# {manifest.name}\n\n{manifest.description or 'An image–code corpus built with vinci.'}\n\n"
            "Each row pairs a picture with the code that renders it (`task: generate`), or a target picture, flawed code and "
            "its render with the corrected code (`task: optimize`). Every image is the render of its code by vinci's "
            "sandboxed renderers; rows that failed to render, rendered blank or degenerate, or duplicated another row "
            "(exactly, or within the perceptual-hash radius) were dropped.\n\n"
            "```python\nfrom datasets import load_dataset\nds = load_dataset(\"PATH_OR_REPO\")\n```\n\n"
            f"## Rows\n\n| split | lang | task | rows |\n|---|---|---|---|\n{rows}\n\n"
            f"## Sources\n\n| source | quota | why |\n|---|---|---|\n{sources}\n\n"
            f"Licences of the rows: {', '.join(licences) or 'see the `license` column'}. Each row's `license` and "
            "`source_ref` say exactly where it came from.\n\n"
            f"## How it was built\n\n`vinci build` with manifest `{manifest.name}` (fingerprint `{manifest.fingerprint()}`, seed "
            f"{manifest.seed}); the resolved manifest, package versions and shard checksums are in `manifest.lock.yaml`, "
            f"per-stage counts in `stats.json`. Perceptual dedup radius: {manifest.dedup.phash_radius} bits of a 64-bit pHash; "
            "`virl`/`test` are held out from `sft` by near-duplicate cluster.\n\n"
            f"{_extra_sections(manifest, stats)}"
            f"## Top drop reasons\n\n| stage: reason | rows |\n|---|---|\n{drops}\n")


def _extra_sections(manifest, stats: Stats) -> str:
    from filters.decontaminate import card_section as decontamination
    from pipelines.source_images import card_section as source_pictures

    return decontamination(manifest.dedup.targets(), stats.counts) + source_pictures(stats)


def _licence(key: str) -> str:
    return key.split("|", 2)[2]
