"""Write raw samples to Parquet or JSON Lines, for looking at a source before a build."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Iterable

from core.atomic import atomic_path

from .base import RawSample

COLUMNS = ("lang", "code", "source", "source_ref", "license", "image", "meta")


def write_samples(samples: Iterable[RawSample], path: str, batch_rows: int = 1000) -> int:
    """Stream samples to ``path`` (``.parquet`` or ``.jsonl``) via a temp file renamed at the end."""
    if not path.endswith((".jsonl", ".parquet")):
        raise ValueError(f"cannot tell the format of {path!r}: use .parquet or .jsonl")
    with atomic_path(path) as tmp:
        return (_write_jsonl if path.endswith(".jsonl") else _write_parquet)(samples, tmp, batch_rows)


def bytes_as_base64(value):
    """A binary file carried in a sample's meta (a picture beside a page), written as base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return {"base64": base64.b64encode(value).decode()}
    raise TypeError(f"cannot write a value of type {type(value).__name__}")


def _write_jsonl(samples: Iterable[RawSample], tmp: Path, batch_rows: int) -> int:
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for s in samples:
            row = {k: getattr(s, k) for k in COLUMNS}
            row["image"] = base64.b64encode(s.image).decode() if s.image else None
            fh.write(json.dumps(row, ensure_ascii=False, default=bytes_as_base64) + "\n")
            count += 1
    return count


def _write_parquet(samples: Iterable[RawSample], tmp: Path, batch_rows: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("lang", pa.string()), ("code", pa.string()), ("source", pa.string()), ("source_ref", pa.string()),
                        ("license", pa.string()), ("image", pa.binary()), ("meta", pa.string())])
    count = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        batch: list[dict] = []
        for s in samples:
            batch.append({**{k: getattr(s, k) for k in COLUMNS}, "meta": json.dumps(s.meta, default=bytes_as_base64)})
            count += 1
            if len(batch) >= batch_rows:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema))
    return count
