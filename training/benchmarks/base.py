"""What every benchmark of ``vinci eval --benchmark`` provides, and the rows it scores."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Sequence

from core.errors import VinciError


class BenchmarkError(VinciError, ValueError):
    """Bad benchmark input (data, outputs file); the message is one line naming the file and row."""


@dataclass
class Sample:
    """One benchmark item: its id, the target picture (PNG bytes), the reference answer."""

    id: str
    image: bytes
    reference: str
    meta: dict = field(default_factory=dict)


@dataclass
class Scored:
    """One answer, scored: ``metrics`` in [0, 1] per metric name, the answer's render when it has one,
    and why it earned nothing where it did not render."""

    sample: Sample
    completion: str
    code: str | None
    png: bytes | None
    error: str | None
    metrics: dict[str, float] | None


@dataclass(frozen=True)
class Column:
    """A column of the paper-style table: ``key`` in the per-sample metrics, ``title`` as printed."""

    key: str
    title: str


class Benchmark(Protocol):
    """A benchmark: reads its data in the real layout, scores answers as its evaluator does.

    ``columns`` is the table in the layout of the paper's (scores x 100, means over every sample,
    an answer that fails counting 0); ``not_computed`` names metrics that need a judge model or
    weights vinci cannot run, with the reason: they are printed, never estimated."""

    name: ClassVar[str]
    title: ClassVar[str]
    lang: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    not_computed: ClassVar[dict[str, str]]
    layout: ClassVar[str]

    def load(self, data: str) -> list[Sample]: ...

    def score(self, samples: Sequence[Sample], codes: Sequence[str | None], service) -> list[tuple[dict, bytes | None, str | None]]:
        """Per answer: (metrics, render PNG or None, error or None); ``codes[i]`` is None when the
        completion had no acceptable answer (it scores 0 on every metric). ``metrics`` is None when the
        sample cannot be scored at all (its reference fails): it is left out of the table and counted."""
        ...

    def summary(self, rows: list[dict]) -> dict[str, float]:
        """The table's numbers from the per-sample metrics."""
        ...


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def mean_percent(rows: list[dict], key: str) -> float:
    return 100.0 * sum(r.get(key, 0.0) for r in rows) / len(rows) if rows else 0.0


def image_bytes(value) -> bytes:
    """A Parquet image cell's bytes (``{"bytes": ...}`` or raw); anything else is not an image."""
    if isinstance(value, dict):
        value = value.get("bytes")
    if not isinstance(value, (bytes, bytearray)):
        raise ValueError("not an image")
    return bytes(value)


def parquet_rows(path, required: set[str], columns: list[str] | None = None):
    """``(index, row)`` of a benchmark's Parquet file: unreadable files and missing columns are one line
    naming the file (the Hub layouts' readers share this)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same error to the user
        raise BenchmarkError(f"{path}: not readable Parquet ({exc})") from None
    missing = required - set(table.column_names)
    if missing:
        raise BenchmarkError(f"{path}: no column(s) {', '.join(sorted(missing))}; it has: {', '.join(table.column_names)}")
    return enumerate((table.select(columns) if columns else table).to_pylist())
