"""Keep the dataset's own picture beside vinci's render, and measure how far apart they are.

A row harvested with an image keeps it in ``source_image``. The pHash Hamming distance (bits of
64) between that picture and vinci's render of the same code is stored in the row's meta and
observed per language: the honest measure of whether re-rendering changed the data (fonts,
library versions, canvas size).
"""
from __future__ import annotations

from statistics import median
from typing import Sequence

from core.records import Record
from core.stats import Stats
from filters.distance import phash_distance
from sources.base import RawSample

METRIC = "source_phash_distance"


def attach_source_images(records: Sequence[Record], samples: Sequence[RawSample], stats: Stats) -> None:
    by_ref = {s.source_ref: s.image for s in samples if s.image}
    for record in records:
        source = by_ref.get(record.source_ref)
        if source is None:
            continue
        record.source_image = source
        try:
            distance = phash_distance(source, record.image)
        except Exception:  # noqa: BLE001 - an undecodable source picture has no distance, the row stays
            continue
        record.meta[METRIC] = distance
        stats.observe(METRIC, record.lang, distance)


def distance_summary(stats: Stats) -> dict[str, dict[str, float]]:
    """lang → {rows, median, mean, share within 4 bits} of the source-vs-render pHash distance."""
    out = {}
    for (name, lang), values in sorted(stats.values.items()):
        if name == METRIC and values:
            out[lang] = {"rows": len(values), "median": float(median(values)), "mean": round(sum(values) / len(values), 2),
                         "within_4_bits": round(sum(v <= 4 for v in values) / len(values), 3)}
    return out


def card_section(stats: Stats) -> str:
    summary = distance_summary(stats)
    if not summary:
        return ""
    rows = "\n".join(f"| {lang} | {s['rows']:,} | {s['median']:g} | {s['mean']:g} | {s['within_4_bits']:.1%} |"
                     for lang, s in summary.items())
    return ("## Source pictures vs vinci's renders\n\nRows harvested with the dataset's own picture keep it in "
            "`source_image`; pHash distance (bits of 64) between it and vinci's render of the same code:\n\n"
            "| lang | rows | median | mean | within 4 bits |\n|---|---|---|---|---|\n" + rows + "\n\n")
