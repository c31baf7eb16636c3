"""Build-compatible folders written by training commands (``vinci select``, ``vinci eval --keep-failures``).

Same layout as ``vinci build``: ``data/<split>-NNNNN-of-MMMMM.parquet`` with the record schema (plus
any extra columns), a dataset card whose YAML header lets ``load_dataset(folder)`` find the splits,
``stats.json`` and ``manifest.lock.yaml`` with shard checksums (which ``training.data`` keys its cache
on). Written into a staging folder and swapped in, so a reader never sees half of it.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.markup import front_matter, md_fence, md_text


@dataclass(frozen=True)
class ExtraColumn:
    name: str
    arrow_type: str  # "float64" | "string"
    description: str


@dataclass
class FolderSpec:
    title: str
    description: str
    provenance: dict
    extra_columns: list[ExtraColumn] = field(default_factory=list)


def undecoded(ds):
    """A split whose image columns hold PNG bytes (no decode/re-encode: rows are written back byte-exact)."""
    import datasets

    for column in ("image", "flawed_image"):
        if ds.features is not None and column in ds.features and isinstance(ds.features[column], datasets.Image):
            ds = ds.cast_column(column, datasets.Image(decode=False))
    return ds


def png_cell(value) -> dict | None:
    """An image cell as the shards store it: ``{"bytes", "path"}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {"bytes": value.get("bytes"), "path": None}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": bytes(value), "path": None}
    import io

    out = io.BytesIO()
    value.save(out, format="PNG")
    return {"bytes": out.getvalue(), "path": None}


def _schema(extra: list[ExtraColumn]):
    import datasets
    import pyarrow as pa

    from core.records import arrow_schema, hf_features

    types = {"float64": (pa.float64(), datasets.Value("float64")), "string": (pa.string(), datasets.Value("string"))}
    schema = arrow_schema()
    features = hf_features()
    for column in extra:
        arrow_type, feature = types[column.arrow_type]
        schema = schema.append(pa.field(column.name, arrow_type))
        features[column.name] = feature
    return schema.with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


def write_folder(out: str | Path, splits: dict[str, list[dict]], spec: FolderSpec, shard_rows: int = 5000) -> dict[str, int]:
    """Write rows (dicts with the record columns, images as PNG bytes or cells) per split; returns row counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.records import COLUMNS
    from core.checksums import content_id, sha256_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    schema = _schema(spec.extra_columns)
    names = [*COLUMNS, *(c.name for c in spec.extra_columns)]
    shards: dict[str, dict] = {}
    counts = {split: len(rows) for split, rows in splits.items() if rows}
    (staging / "data").mkdir()
    for split, rows in splits.items():
        parts = [rows[i:i + shard_rows] for i in range(0, len(rows), shard_rows)]
        for i, part in enumerate(parts):
            table = pa.Table.from_pylist([_cells(row, names) for row in part], schema=schema)
            path = staging / "data" / f"{split}-{i:05d}-of-{len(parts):05d}.parquet"
            pq.write_table(table, path, compression="zstd")
            shards[path.name] = {"sha256": sha256_file(path), "rows": len(part)}
    by = Counter((split, row["lang"], row["task"]) for split, rows in splits.items() for row in rows)
    (staging / "stats.json").write_text(json.dumps({"rows": counts, "by_split_lang_task": {"|".join(k): n for k, n in sorted(by.items())},
                                                    **spec.provenance}, indent=1, sort_keys=True))
    (staging / "manifest.lock.yaml").write_text(yaml.safe_dump({**spec.provenance, "shards": shards}, sort_keys=False))
    (staging / "README.md").write_text(_card(spec, counts, by, content_id(shards)))
    _swap_in(staging, out)
    return counts


def _cells(row: dict, names: list[str]) -> dict:
    cells = {name: row.get(name) for name in names}
    for key in ("image", "flawed_image"):
        cells[key] = png_cell(cells[key])
    if isinstance(cells.get("meta"), dict):
        cells["meta"] = json.dumps(cells["meta"], sort_keys=True, ensure_ascii=False)
    return cells


def _card(spec: FolderSpec, counts: dict[str, int], by: Counter, build_id: str) -> str:
    """The folder's card; its config names the content (``build_id``), so ``load_dataset(folder)``
    never returns the cached rows of an earlier folder of the same name."""
    header = {"configs": [{"config_name": "default", "description": f"vinci folder {build_id}",
                           "data_files": [{"split": s, "path": f"data/{s}-*"} for s in counts]}],
              "task_categories": ["image-to-text"], "tags": ["code", "multimodal", "image-to-code", "vinci"],
              "pretty_name": f"vinci · {spec.title}"}
    rows = "\n".join(f"| {md_text(s)} | {md_text(l)} | {md_text(t)} | {n:,} |" for (s, l, t), n in sorted(by.items()))
    extra = "".join(f"\n* `{c.name}`: {c.description}" for c in spec.extra_columns)
    return (front_matter(header) + "\n"
            f"# {md_text(spec.title)}\n\n{spec.description}\n\n"
            "```python\nfrom datasets import load_dataset\nds = load_dataset(\"PATH_OR_REPO\")\n```\n\n"
            f"## Rows\n\n| split | lang | task | rows |\n|---|---|---|---|\n{rows}\n"
            + (f"\n## Extra columns\n{extra}\n" if extra else "")
            + "\n## Provenance\n\n" + md_fence(yaml.safe_dump(spec.provenance, sort_keys=False), "yaml") + "\n")


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging``: the old folder is renamed away first, then removed."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
