"""The record schema: one Parquet row of a vinci corpus, with its ``datasets`` features."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

COLUMNS = ("id", "task", "lang", "code", "image", "flawed_code", "flawed_image", "perturbation",
           "source", "source_ref", "license", "phash", "meta", "source_image")
IMAGE_COLUMNS = ("image", "flawed_image", "source_image")


@dataclass
class Record:
    id: str
    task: str
    lang: str
    code: str
    image: bytes | None
    source: str
    source_ref: str
    license: str
    phash: str = ""
    flawed_code: str | None = None
    flawed_image: bytes | None = None
    perturbation: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source_image: bytes | None = None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["meta"] = json.dumps(self.meta, sort_keys=True, ensure_ascii=False)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Record":
        data = {k: row.get(k) for k in COLUMNS}
        data["meta"] = json.loads(data["meta"] or "{}")
        return cls(**data)


def record_id(lang: str, normalized_code: str, flawed_code: str | None = None) -> str:
    """Stable content hash: the same code (after normalisation) always gets the same id."""
    h = hashlib.sha256(f"{lang}\x00{normalized_code}".encode())
    if flawed_code is not None:
        h.update(b"\x00flawed\x00" + flawed_code.encode())
    return h.hexdigest()[:24]


def arrow_schema():
    import pyarrow as pa

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    return pa.schema([("id", pa.string()), ("task", pa.string()), ("lang", pa.string()), ("code", pa.string()),
                      ("image", image), ("flawed_code", pa.string()), ("flawed_image", image),
                      ("perturbation", pa.string()), ("source", pa.string()), ("source_ref", pa.string()),
                      ("license", pa.string()), ("phash", pa.string()), ("meta", pa.string()), ("source_image", image)])


def hf_features():
    """The ``datasets`` features written into each shard's metadata, so images load as images."""
    import datasets

    string = datasets.Value("string")
    return datasets.Features({"id": string, "task": string, "lang": string, "code": string, "image": datasets.Image(),
                              "flawed_code": string, "flawed_image": datasets.Image(), "perturbation": string,
                              "source": string, "source_ref": string, "license": string, "phash": string, "meta": string,
                              "source_image": datasets.Image()})


def to_arrow_row(record: Record) -> dict[str, Any]:
    row = record.to_row()
    for key in IMAGE_COLUMNS:
        row[key] = {"bytes": row[key], "path": None} if row[key] is not None else None
    return row
