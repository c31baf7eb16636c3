"""Exclusion records: every dropped sample or perturbation, with where it came from and why.

``Stats.drop`` is the one place a drop is counted; given the dropped thing (a raw sample, a record,
or a row of the build's unit files) it also keeps an ``Exclusion``. A build unit writes its
exclusions to ``work/excluded/<unit>.parquet`` before its unit file (so a resumed build has them),
and the final write gathers them, with the global drops (dedup, optimize rows), into
``DIR/excluded/excluded-NNNNN-of-MMMMM.parquet`` beside the shards.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import write_table

MAX_CODE_CHARS = 100_000
COLUMNS = ("id", "stage", "reason", "error", "lang", "task", "source", "source_ref", "license", "code",
           "perturbation", "image", "meta")


@dataclass
class RowAt:
    """A row of the build's unit files, by position, with the light columns the global filters judge
    (its image's 64-bit pHash, an optimize row's parent id): the final write fills in an exclusion's
    code, source and render from the row itself."""

    index: int
    id: str
    lang: str
    phash: int = 0
    parent: str | None = None


@dataclass
class Exclusion:
    id: str
    stage: str
    reason: str
    lang: str
    error: str = ""
    task: str = "generate"
    source: str = ""
    source_ref: str = ""
    license: str = ""
    code: str = ""
    perturbation: str | None = None
    image: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, stage: str, reason: str, what: Any, error: str = "", image: bytes | None = None,
           flawed_code: str | None = None, perturbation: str | None = None, row_id: str | None = None,
           **detail: Any) -> "Exclusion":
        """From a ``RawSample``, a ``Record`` (with ``flawed_code`` and its optimize ``row_id``: a
        perturbation of it) or a ``RowAt``."""
        if isinstance(what, RowAt):
            return cls(id=what.id, stage=stage, reason=reason, lang=what.lang, error=error,
                       meta={"row": what.index, **detail})
        if flawed_code is not None:
            detail["parent"] = what.id
        code = what.code if flawed_code is None else flawed_code
        if len(code) > MAX_CODE_CHARS:
            detail["code_chars"] = len(code)
        return cls(id=_id_of(what, row_id),
                   stage=stage, reason=reason, lang=what.lang, error=error,
                   task="optimize" if flawed_code is not None else getattr(what, "task", "generate"),
                   source=what.source, source_ref=what.source_ref, license=what.license or "",
                   code=code[:MAX_CODE_CHARS], perturbation=perturbation, image=image, meta=detail)

    def complete(self, row: dict[str, Any]) -> None:
        """Fill a ``RowAt`` exclusion from its unit-file row (image columns already as bytes)."""
        self.meta.pop("row", None)
        self.task, self.source, self.source_ref, self.license = row["task"], row["source"], row["source_ref"], row["license"]
        self.code = row["flawed_code"] if row["task"] == "optimize" else row["code"]
        self.image = row["flawed_image"] if row["task"] == "optimize" else row["image"]
        self.perturbation = row.get("perturbation")

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["image"] = {"bytes": self.image, "path": None} if self.image is not None else None
        row["meta"] = json.dumps(self.meta, sort_keys=True, ensure_ascii=False)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Exclusion":
        data = {k: row.get(k) for k in COLUMNS}
        data["image"] = (data["image"] or {}).get("bytes")
        data["meta"] = json.loads(data["meta"] or "{}")
        return cls(**data)


def _id_of(what: Any, row_id: str | None) -> str:
    """A row's id; for a perturbation the id its optimize row would have had (the caller knows it); for a
    sample dropped before it became a row, the hash of its raw code (never normalized: it may be the
    50 MB string the checks refused)."""
    from .records import record_id

    return row_id or getattr(what, "id", None) or record_id(what.lang, what.code)


def schema() -> pa.Schema:
    """Arrow schema with ``datasets`` features, so ``load_dataset`` shows ``image`` as an image."""
    import datasets

    string = datasets.Value("string")
    features = datasets.Features({**{c: string for c in COLUMNS if c != "image"}, "image": datasets.Image()})
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [(c, image if c == "image" else pa.string()) for c in COLUMNS]
    return pa.schema(fields).with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


def write_unit_exclusions(exclusions: list[Exclusion], path: Path) -> None:
    """One unit's exclusions, by rename (an empty file too: it marks the unit's exclusions as written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, pa.Table.from_pylist([e.to_row() for e in exclusions], schema=schema()))


def read_unit_exclusions(paths: Iterable[Path]) -> Iterator[Exclusion]:
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            for row in batch.to_pylist():
                yield Exclusion.from_row(row)


def excluded_files(folder: str | Path) -> list[Path]:
    return sorted((Path(folder) / "excluded").glob("excluded-*.parquet"))


def read_excluded(folder: str | Path, reason: str | None = None) -> Iterator[Exclusion]:
    """The exclusions of a build folder; ``reason`` matches ``reason``, ``stage`` or ``stage:reason``."""
    for exclusion in read_unit_exclusions(excluded_files(folder)):
        if reason is None or reason in (exclusion.reason, exclusion.stage, f"{exclusion.stage}:{exclusion.reason}"):
            yield exclusion
