"""The build's second pass: perturb only the clean rows that end in ``sft``.

Optimize rows live where their clean parent lives, and ``virl`` and ``test`` hold generate rows
only, so a flawed render made for a row that dedup drops or the split holds out is thrown away.
The driver therefore decides the split first (``Build.plan_perturbations`` writes, per unit, the ids
of its ``sft`` parents), and this runner renders perturbations for exactly those rows. Each row's
draws come from ``random.Random(f"perturb:{seed}:{id}")``, so a row gets the same perturbations
whichever rows share its unit: the rows written are those of a one-pass build, minus the work
that was dropped.

Like ``UnitRunner`` it is a ``RenderingRunner``: picklable before ``setup``, a warm render service
between ``setup`` and ``teardown``, one file per unit by rename (after its exclusion records), so a
killed build resumes with the units whose files exist.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from core.records import IMAGE_COLUMNS, Record
from core.stats import Stats

from ..unit import RenderingRunner
from .stage import Perturb

PLAN_SUFFIX = ".json"


def plan_path(plan_dir: Path, unit_name: str) -> Path:
    return plan_dir / f"{unit_name}{PLAN_SUFFIX}"


def read_parents(unit_file: Path, ids: set[str]) -> list[Record]:
    """The first generate row of each id in ``ids``, in file order (the one the build writes)."""
    out, ids = [], set(ids)
    for batch in pq.ParquetFile(unit_file).iter_batches(batch_size=256):
        for row in batch.to_pylist():
            if row["task"] == "generate" and row["id"] in ids:
                ids.discard(row["id"])
                for key in IMAGE_COLUMNS:
                    row[key] = row[key]["bytes"] if row.get(key) else None
                out.append(Record.from_row(row))
    return out


@dataclass
class PerturbWork:
    """One unit's ``sft`` parents flowing into the perturb step, its optimize rows out."""

    stats: Stats = field(default_factory=Stats)
    items: list = field(default_factory=list)

    def langs(self) -> Counter[str]:
        return Counter(x.lang for x in self.items)


class PerturbRunner(RenderingRunner):
    """Render and verify the perturbations of one unit's ``sft`` parents; commit them as one file."""

    STEPS = (Perturb,)
    STEP = Perturb.name

    def __init__(self, manifest, units_dir: Path, perturbed_dir: Path, plan_dir: Path, excluded_dir: Path,
                 render_workers: int | dict[str, int] = 1):
        super().__init__(manifest, render_workers)
        self.units_dir, self.perturbed_dir = Path(units_dir), Path(perturbed_dir)
        self.plan_dir, self.excluded_dir = Path(plan_dir), Path(excluded_dir)

    def __call__(self, unit) -> int:
        parents = set(json.loads(plan_path(self.plan_dir, unit.name).read_text()))
        work = PerturbWork(items=read_parents(self.units_dir / f"{unit.name}.parquet", parents) if parents else [])
        self.run_steps(work)
        return self.commit_unit(unit, work.items, work.stats, self.perturbed_dir / f"{unit.name}.parquet",
                                self.excluded_dir / f"{unit.name}.perturb.parquet")
