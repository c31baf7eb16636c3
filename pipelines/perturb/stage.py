"""The perturbation stage's place in the build: clean rows in, clean + optimize rows out.

With ``perturb.per_row: 0`` (or no registered perturbations) it passes the clean rows through.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from pipelines.records import Record
from pipelines.stats import Stats


def perturb_stage(clean: Callable[[], Iterable[tuple[str, Record]]], manifest, workers: int,
                  stats: Stats) -> Iterator[tuple[str, Record]]:
    for split, record in clean():
        stats.add("perturb", record.lang, "in")
        yield split, record
