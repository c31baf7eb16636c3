"""A build unit: one slice of one source, run through an ordered list of step objects.

``UNIT_STEPS`` is the whole story of a unit's first pass: harvest → licence filter → code check →
render → image check → source pictures → refine → commit. Perturbation is a second pass
(``perturb/runner.py``) once the split is known, so no flawed render is made for a held-out row.
Each step is a ``core.steps.Step``; a filter step answers a verdict per item and the ``Filter``
base class counts ``in``/``out``/drops and keeps the exclusion records, so no filter counts for
itself. The runner's ``setup`` starts its warm render service and sets its steps up, ``teardown``
stops them: an executor (``executors/``) only decides where and when ``runner(unit)`` runs.
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pyarrow as pa

from core.atomic import write_table
from core.errors import VinciError
from core.exclusions import write_unit_exclusions
from core.records import Record, arrow_schema, to_arrow_row
from core.stats import Stats
from core.steps import Step, count_made
from filters.execution import Execution
from filters.licenses import LicenseFilter
from filters.quality import CodeCheck, ImageCheck
from sources.base import RawSample, open_source

from .manifest import Manifest
from .perturb.refine import Refine, take_drafts
from .source_images import attach_source_images


class UnitAborted(VinciError, RuntimeError):
    """A unit that was running when the build stopped; it is not committed and runs again on resume."""


@dataclass(frozen=True)
class Unit:
    source_index: int
    index: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"u-{self.source_index:03d}-{self.index:05d}"


def cut_units(manifest: Manifest, limit: int | None = None) -> list[Unit]:
    units = []
    for si, entry in enumerate(manifest.sources):
        n = entry.quota(limit)
        for k in range(math.ceil(n / manifest.unit_rows)):
            units.append(Unit(si, k, k * manifest.unit_rows, min(n, (k + 1) * manifest.unit_rows)))
    return units


class Harvest(Step):
    """Read this unit's slice of its source; each sample is counted as the step's ``out``. The refine
    drafts some datasets pair with a row are taken out of the samples here (``UnitWork.drafts``)."""

    name = "harvest"

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> "Harvest":
        return cls(manifest)

    def __call__(self, work: "UnitWork") -> None:
        entry, unit = self.manifest.sources[work.unit.source_index], work.unit
        source = open_source(entry.source, seed=self.manifest.seed, start=unit.start, options=entry.options)
        work.samples = list(islice(source, unit.stop - unit.start))
        for sample in work.samples:
            conventions = entry.conventions_for(sample.lang, sample.meta.get("render"))
            if conventions:
                sample.meta["render"] = conventions
        count_made(self.name, work.samples, work.stats)
        work.stats.source(unit.source_index, "harvested", len(work.samples))
        skipped = getattr(source, "skipped_in_slice", None)
        for reason, n in (skipped() if skipped else {}).items():
            work.stats.source(unit.source_index, f"skipped:{reason}", n)
        work.drafts = take_drafts(work.samples)
        work.items = list(work.samples)


class SourceImages(Step):
    """Keep a dataset's own picture beside vinci's render (``source_images``)."""

    name = "source_images"

    def __call__(self, work: "UnitWork") -> None:
        attach_source_images(work.items, work.samples, work.stats)


UNIT_STEPS: tuple[type[Step], ...] = (Harvest, LicenseFilter, CodeCheck, Execution, ImageCheck, SourceImages, Refine)
"""The first pass, in order; adding a filter is one class in ``filters/`` and one entry here."""


@dataclass
class UnitWork:
    """What one unit carries from step to step: ``items`` (raw samples, then renders, then rows)."""

    unit: Unit
    stats: Stats = field(default_factory=Stats)
    items: list = field(default_factory=list)
    samples: list[RawSample] = field(default_factory=list)
    drafts: dict[str, str] = field(default_factory=dict)

    def langs(self) -> Counter[str]:
        """Items per language at this point of the unit (what a step's host CPU is shared by)."""
        return Counter(x.lang for x in self.items)

    def clean(self) -> list[Record]:
        """The generate rows: what refine and perturb start from (never each other's output)."""
        return [r for r in self.items if r.task == "generate"]


class RenderingRunner:
    """What every pass of a build shares: its steps (``STEPS``, built from the manifest), a warm render
    service between ``setup`` and ``teardown`` for the steps that declare they render, a Ctrl-C that
    kills rather than drains it, and one all-or-nothing commit per unit.

    Picklable before ``setup`` (a manifest, folders, the steps' configuration and the render workers
    per language), so any executor can ship it to where the renderers will run.
    """

    STEPS: tuple[type[Step], ...] = ()

    def __init__(self, manifest: Manifest, render_workers: int | dict[str, int] = 1):
        self.manifest, self.render_workers = manifest, render_workers
        self.steps = [step.from_manifest(manifest) for step in self.STEPS]
        self.service = None
        self.stopped = False

    def setup(self) -> None:
        from filters.render import RenderService

        self.service = RenderService(workers=self.render_workers, timeout_s=self.manifest.render.timeout_s)
        for step in self.steps:
            step.setup(self.service if step.resources.renders else None)

    def run_steps(self, work) -> None:
        """Each step over ``work`` in order, its wall time and host CPU recorded under its name."""
        if self.service is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before a unit")
        for step in self.steps:
            t0, cpu0 = time.monotonic(), time.thread_time()
            langs = work.langs()
            step(work)
            work.stats.time(step.name, time.monotonic() - t0)
            work.stats.spend_shared(step.name, langs or work.langs(), time.thread_time() - cpu0)

    def teardown(self) -> None:
        for step in self.steps:
            step.teardown()
        if self.service is not None:
            self.service.close()
            self.service = None

    def abort(self) -> None:
        """Stop at once (Ctrl-C): no unit commits from now on, the renderers are killed, not drained."""
        self.stopped = True
        if self.service is not None:
            self.service.abort()
            self.service = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "service": None}

    def commit_unit(self, unit: Unit, records: list[Record], stats: Stats, rows_path: Path, excluded_path: Path) -> int:
        """Exclusions first, then the rows, each by rename: the rows file marks the unit done. A stopped
        runner commits nothing (its renders may have failed because they were killed)."""
        if self.stopped:
            raise UnitAborted(f"{unit.name}: the build was stopped")
        for r in records:
            r.meta["order"] = [unit.source_index, unit.index]
        table = pa.Table.from_pylist([to_arrow_row(r) for r in records], schema=arrow_schema())
        table = table.replace_schema_metadata({"vinci_stats": json.dumps(stats.to_dict())})
        write_unit_exclusions(stats.excluded, excluded_path)
        write_table(rows_path, table)
        return len(records)


class UnitRunner(RenderingRunner):
    """Harvest one slice of one source, filter and render it, commit it as one file."""

    def __init__(self, manifest: Manifest, units_dir: Path, render_workers: int | dict[str, int] = 1):
        super().__init__(manifest, render_workers)
        self.units_dir = Path(units_dir)
        self.excluded_dir = self.units_dir.parent / "excluded"

    STEPS = UNIT_STEPS

    def __call__(self, unit: Unit) -> int:
        work = UnitWork(unit)
        self.run_steps(work)
        return self.commit(work)

    def commit(self, work: UnitWork) -> int:
        name = work.unit.name
        return self.commit_unit(work.unit, work.items, work.stats, self.units_dir / f"{name}.parquet",
                                self.excluded_dir / f"{name}.parquet")
