"""A build unit: one slice of one source, run through an ordered list of named steps.

``UnitRunner.steps`` is the whole story of a unit's first pass: harvest → licence filter → code
check → render → image check → source pictures → refine → commit. Perturbation is a second pass
(``perturb/runner.py``) once the split is known, so no flawed render is made for a held-out row. A filter step answers keep
or ``(False, reason[, error])`` for each item and ``keep_where`` counts ``in``/``out``/drops and
keeps the exclusion records, so no filter counts for itself. ``setup`` starts the runner's warm
render service and ``teardown`` stops it: an executor (``executors/``) only decides where and when
``runner(unit)`` runs.
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import pyarrow as pa

from core.atomic import write_table
from core.errors import Rejected, VinciError
from core.exclusions import write_unit_exclusions
from core.records import Record, arrow_schema, to_arrow_row
from core.stats import Stats
from core.verdicts import Verdict, parts
from filters.execution import Rendered, count_missing_modules, render_samples, rendered_ok, to_record
from filters.licenses import LicenseFilter
from filters.quality import CodeCheck, ImageCheck
from sources.base import RawSample, open_source

from .manifest import Manifest
from .perturb.refine import refine_records, take_drafts
from .source_images import attach_source_images

T = TypeVar("T")


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


def keep_where(stage: str, items: Iterable[T], check: Callable[[T], Verdict], stats: Stats,
               what: Callable[[T], Any] = lambda item: item, image: Callable[[T], bytes | None] = lambda item: None) -> list[T]:
    """The items ``check`` keeps; the one place a filter's ``in``, ``out`` and drops are counted.

    ``what`` gives the thing an exclusion record is made of (a raw sample), ``image`` the render it shows.
    A check that raises ``Rejected`` (a bounded host-side parser refusing untrusted input), or runs out of
    stack or memory on one item, drops that item with the reason; the unit goes on.
    """
    kept = []
    for item in items:
        lang = item.lang
        stats.add(stage, lang, "in")
        try:
            keep, reason, error = parts(check(item))
        except Rejected as exc:  # a bounded parser refused this item: it alone is dropped
            keep, reason, error = False, exc.reason, str(exc)
        except (RecursionError, MemoryError) as exc:  # the safety net under a parser that is not bounded yet
            keep, reason, error = False, "check_failed", f"{type(exc).__name__} while checking this sample"
        if keep:
            stats.add(stage, lang, "out")
            kept.append(item)
        else:
            stats.drop(stage, lang, reason, what(item), error=error, image=image(item))
    return kept


@dataclass
class UnitWork:
    """What one unit carries from step to step."""

    unit: Unit
    stats: Stats = field(default_factory=Stats)
    samples: list[RawSample] = field(default_factory=list)
    drafts: dict[str, str] = field(default_factory=dict)
    rendered: list[Rendered] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def langs(self) -> Counter[str]:
        """Items per language at this point of the unit (what a step's host CPU is shared by)."""
        return Counter(x.lang for x in (self.records or self.rendered or self.samples))

    def clean(self) -> list[Record]:
        """The generate rows: what refine and perturb start from (never each other's output)."""
        return [r for r in self.records if r.task == "generate"]


class RenderingRunner:
    """What every pass of a build shares: a warm render service between ``setup`` and ``teardown``,
    a Ctrl-C that kills rather than drains it, and one all-or-nothing commit per unit.

    Picklable before ``setup`` (a manifest, folders and the render workers per language), so any
    executor can ship it to where the renderers will run.
    """

    def __init__(self, manifest: Manifest, render_workers: int | dict[str, int] = 1):
        self.manifest, self.render_workers = manifest, render_workers
        self.service = None
        self.stopped = False

    def setup(self) -> None:
        from filters.render import RenderService

        self.service = RenderService(workers=self.render_workers, timeout_s=self.manifest.render.timeout_s)

    def teardown(self) -> None:
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

    STEPS = ("harvest", "license_filter", "quality_code", "execution", "quality_image", "source_images", "refine")

    def steps(self) -> list[tuple[str, Callable[[UnitWork], None]]]:
        """The unit's steps in order: each a method of the same name, timed and counted under that name."""
        return [(name, getattr(self, name)) for name in self.STEPS]

    def __call__(self, unit: Unit) -> int:
        if self.service is None:
            raise RuntimeError("UnitRunner.setup() must run before a unit")
        work = UnitWork(unit)
        for name, step in self.steps():
            t0, cpu0 = time.monotonic(), time.thread_time()
            langs = work.langs()
            step(work)
            work.stats.time(name, time.monotonic() - t0)
            work.stats.spend_shared(name, langs or work.langs(), time.thread_time() - cpu0)
        return self.commit(work)

    def harvest(self, work: UnitWork) -> None:
        entry, unit = self.manifest.sources[work.unit.source_index], work.unit
        source = open_source(entry.source, seed=self.manifest.seed, start=unit.start, options=entry.options)
        work.samples = list(islice(source, unit.stop - unit.start))
        for sample in work.samples:
            conventions = entry.conventions_for(sample.lang, sample.meta.get("render"))
            if conventions:
                sample.meta["render"] = conventions
            work.stats.add("harvest", sample.lang, "out")
        work.stats.source(unit.source_index, "harvested", len(work.samples))
        skipped = getattr(source, "skipped_in_slice", None)
        for reason, n in (skipped() if skipped else {}).items():
            work.stats.source(unit.source_index, f"skipped:{reason}", n)

    def license_filter(self, work: UnitWork) -> None:
        if self.manifest.licenses is not None:
            work.samples = keep_where("license_filter", work.samples, LicenseFilter(self.manifest.licenses), work.stats)
        work.drafts = take_drafts(work.samples)

    def quality_code(self, work: UnitWork) -> None:
        work.samples = keep_where("quality_code", work.samples, CodeCheck(self.manifest.quality), work.stats)

    def execution(self, work: UnitWork) -> None:
        rendered = render_samples(work.samples, self.service)
        for r in rendered:
            work.stats.spend("execution", r.lang, r.result.cpu_s)
        count_missing_modules(rendered, work.stats)
        work.rendered = keep_where("execution", rendered, rendered_ok, work.stats, what=lambda r: r.sample)
        for r in work.rendered:
            work.stats.observe("render_ms", r.lang, round(r.result.elapsed_s * 1000, 1))

    def quality_image(self, work: UnitWork) -> None:
        kept = keep_where("quality_image", work.rendered, ImageCheck(self.manifest.quality), work.stats,
                          what=lambda r: r.sample, image=lambda r: r.result.png)
        for r in kept:
            work.stats.observe("image_px", r.lang, r.result.width * r.result.height)
        work.records = [to_record(r) for r in kept]
        work.rendered = []

    def source_images(self, work: UnitWork) -> None:
        attach_source_images(work.records, work.samples, work.stats)

    def refine(self, work: UnitWork) -> None:
        work.records += refine_records(work.clean(), work.drafts, self.service, self.manifest.perturb, work.stats)

    def commit(self, work: UnitWork) -> int:
        name = work.unit.name
        return self.commit_unit(work.unit, work.records, work.stats, self.units_dir / f"{name}.parquet",
                                self.excluded_dir / f"{name}.parquet")
