"""A build unit: one slice of one source, run through an ordered list of named steps.

``UnitRunner.steps`` is the whole story of a unit: harvest → licence filter → code check →
render → image check → source pictures → refine → perturb → commit. A filter step answers keep
or ``(False, reason[, error])`` for each item and ``keep_where`` counts ``in``/``out``/drops and
keeps the exclusion records, so no filter counts for itself. ``setup`` starts the runner's warm
render service and ``teardown`` stops it: an executor (``executors/``) only decides where and when
``runner(unit)`` runs.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import pyarrow as pa

from core.atomic import write_table
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
from .perturb.stage import perturb_records
from .source_images import attach_source_images

T = TypeVar("T")


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
    """
    kept = []
    for item in items:
        lang = item.lang
        stats.add(stage, lang, "in")
        keep, reason, error = parts(check(item))
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

    def clean(self) -> list[Record]:
        """The generate rows: what refine and perturb start from (never each other's output)."""
        return [r for r in self.records if r.task == "generate"]


class UnitRunner:
    """Harvest one slice of one source, filter, render and perturb it, commit it as one file.

    Picklable before ``setup`` (a manifest, a folder and the render workers per language), so any
    executor can ship it to where the renderers will run.
    """

    def __init__(self, manifest: Manifest, units_dir: Path, render_workers: int | dict[str, int] = 1):
        self.manifest, self.units_dir = manifest, Path(units_dir)
        self.excluded_dir = self.units_dir.parent / "excluded"
        self.render_workers = render_workers
        self.service = None

    def setup(self) -> None:
        from filters.render import RenderService

        self.service = RenderService(workers=self.render_workers, timeout_s=self.manifest.render.timeout_s)

    def teardown(self) -> None:
        if self.service is not None:
            self.service.close()
            self.service = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "service": None}

    STEPS = ("harvest", "license_filter", "quality_code", "execution", "quality_image", "source_images", "refine", "perturb")

    def steps(self) -> list[tuple[str, Callable[[UnitWork], None]]]:
        """The unit's steps in order: each a method of the same name, timed and counted under that name."""
        return [(name, getattr(self, name)) for name in self.STEPS]

    def __call__(self, unit: Unit) -> int:
        if self.service is None:
            raise RuntimeError("UnitRunner.setup() must run before a unit")
        work = UnitWork(unit)
        for name, step in self.steps():
            t0 = time.monotonic()
            step(work)
            work.stats.time(name, time.monotonic() - t0)
        return self.commit(work)

    def harvest(self, work: UnitWork) -> None:
        entry, unit = self.manifest.sources[work.unit.source_index], work.unit
        work.samples = list(islice(open_source(entry.source, seed=self.manifest.seed, start=unit.start, options=entry.options),
                                   unit.stop - unit.start))
        for sample in work.samples:
            conventions = entry.conventions_for(sample.lang, sample.meta.get("render"))
            if conventions:
                sample.meta["render"] = conventions
            work.stats.add("harvest", sample.lang, "out")

    def license_filter(self, work: UnitWork) -> None:
        if self.manifest.licenses is not None:
            work.samples = keep_where("license_filter", work.samples, LicenseFilter(self.manifest.licenses), work.stats)
        work.drafts = take_drafts(work.samples)

    def quality_code(self, work: UnitWork) -> None:
        work.samples = keep_where("quality_code", work.samples, CodeCheck(self.manifest.quality), work.stats)

    def execution(self, work: UnitWork) -> None:
        rendered = render_samples(work.samples, self.service)
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

    def perturb(self, work: UnitWork) -> None:
        work.records += perturb_records(work.clean(), self.service, self.manifest.perturb, self.manifest.seed, work.stats)

    def commit(self, work: UnitWork) -> int:
        """Exclusions first, then the unit file, each by rename: the unit file marks the unit done."""
        for r in work.records:
            r.meta["order"] = [work.unit.source_index, work.unit.index]
        table = pa.Table.from_pylist([to_arrow_row(r) for r in work.records], schema=arrow_schema())
        table = table.replace_schema_metadata({"vinci_stats": json.dumps(work.stats.to_dict())})
        write_unit_exclusions(work.stats.excluded, self.excluded_dir / f"{work.unit.name}.parquet")
        write_table(self.units_dir / f"{work.unit.name}.parquet", table)
        return len(work.records)
