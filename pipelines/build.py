"""``vinci build``: harvest → execution filter → quality → dedup → split → perturb → write, resumable.

Work is cut into units (one source × one slice of ``unit_rows`` samples) and runs in two passes.
The first renders and filters each unit; dedup and the split are then decided over all of them;
the second pass perturbs only the clean rows that end in ``sft`` (optimize rows follow their
parent, and ``virl``/``test`` hold generate rows only), so no flawed render is made for a row that
is dropped or held out. A finished unit of either pass is one Parquet file (``DIR/work/units``,
``DIR/work/perturbed``) written by rename after its exclusion records in ``DIR/work/excluded``, so a
build killed at any moment resumes by skipping the files that exist, and ends with exactly the rows
(and exclusions) of an uninterrupted run. The global steps (dedup, split, write) are deterministic
functions of the unit files and are simply redone.
"""
from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.atomic import leftovers, write_text
from core.errors import BuildError
from core.exclusions import Exclusion, RowAt
from core.records import IMAGE_COLUMNS, Record
from core.stats import Stats
from core.steps import Filter
from filters.decontaminate import Decontaminate, DecontaminationError
from filters.dedup import hex_to_u64
from filters.duplicates import Dedup

from .lock import FolderLock
from .manifest import Manifest
from .perturb.runner import PerturbRunner, plan_path
from .preflight import held_out
from .split import PlaceOptimizeRows, assign_splits
from .unit import Unit, UnitRunner, cut_units

log = logging.getLogger("vinci.build")
LIGHT_COLUMNS = ["id", "lang", "phash", "task", "meta"]
GLOBAL_FILTERS: tuple[type[Filter], ...] = (Dedup, Decontaminate)  # over the generate rows of all units, in the driver
GLOBAL_STEPS = (*GLOBAL_FILTERS, PlaceOptimizeRows)  # then the split; optimize rows follow their parent


@dataclass
class RowsWork:
    """The rows a global filter judges (``RowAt``: position, id, language, pHash) and where they count."""

    stats: Stats
    items: list[RowAt] = field(default_factory=list)


def resolve_workers(value: int | str | None, default: int | str) -> int:
    value = value or default
    return (os.cpu_count() or 1) if value == "auto" else int(value)


class Build:
    def __init__(self, manifest: Manifest, out: str | Path, workers: int | str | None = None, limit: int | None = None,
                 restart: bool = False, progress: bool = True, render_workers: int | str | None = None):
        self.manifest, self.out = manifest, Path(out)
        self.workers = resolve_workers(workers, "auto")
        self.render_workers = resolve_workers(render_workers, manifest.render.workers)
        self.limit, self.progress = limit, progress
        self.units_dir = self.out / "work" / "units"
        self.perturbed_dir = self.out / "work" / "perturbed"
        self.plan_dir = self.out / "work" / "perturb_plan"
        self.excluded_dir = self.out / "work" / "excluded"
        self.global_filters = [f.from_manifest(manifest) for f in GLOBAL_FILTERS]
        self.lock = FolderLock(self.out).acquire()
        try:
            self._claim_folder(restart)
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        """Let another build into the folder (also done when the process ends, however it ends)."""
        self.lock.release()

    def _claim_folder(self, restart: bool) -> None:
        stamp = self.out / "work" / "fingerprint"
        mine = f"{self.manifest.fingerprint()} limit={self.limit}"
        if stamp.exists() and stamp.read_text().strip() != mine:
            if not restart:
                raise BuildError(f"{self.out} holds a build of a different manifest ({stamp.read_text().strip()}); "
                                 "pass --restart to start over there, or choose another --out")
            shutil.rmtree(self.out / "work")
        for folder in (self.units_dir, self.perturbed_dir, self.plan_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for leftover in [*leftovers(self.units_dir), *leftovers(self.perturbed_dir), *leftovers(self.excluded_dir)]:
            leftover.unlink()
        write_text(stamp, mine + "\n")

    def run(self, executor: str = "local") -> Stats:
        start = time.monotonic()
        units = cut_units(self.manifest, self.limit)
        try:
            for f in self.global_filters:  # dedup.against is fingerprinted here: a bad target fails before any render
                f.setup()
        except DecontaminationError as exc:
            raise BuildError(str(exc)) from exc
        try:
            runner = UnitRunner(self.manifest, self.units_dir, self.render_workers)
            self.run_pass(units, runner, self.unit_done, "harvest+render+filter", executor, self.units_dir)
            if self.perturbs():
                self.plan_perturbations(units)
                runner = PerturbRunner(self.manifest, self.units_dir, self.perturbed_dir, self.plan_dir, self.excluded_dir,
                                       self.render_workers)
                self.run_pass(units, runner, self.perturb_done, "perturb", executor, self.perturbed_dir)
            stats = self.finalize(units)
        finally:
            for f in self.global_filters:
                f.teardown()
        stats.time("total_s", time.monotonic() - start)
        stats.gauge("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return stats

    def run_pass(self, units: list[Unit], runner, done: Callable[[Unit], bool], desc: str, executor: str,
                 out_dir: Path) -> None:
        """Run ``runner`` on the units not yet ``done``, through the executor. The bar counts every unit's
        samples, done ones included, and the rows kept so far in all of them; a resumed pass says so."""
        todo = [u for u in units if not done(u)]
        pending = set(todo)
        finished = [u for u in units if u not in pending]
        log.info("%s: %d units, %d already done", desc, len(units), len(finished))
        if not todo:
            return
        if finished and self.progress:
            print(f"resumed: {len(finished)} of {len(units)} units already done in {self.out} "
                  f"({sum(u.stop - u.start for u in finished):,} of {sum(u.stop - u.start for u in units):,} samples; "
                  f"{desc})", file=sys.stderr, flush=True)
        bar = _progress(sum(u.stop - u.start for u in units), desc, self.progress, sum(u.stop - u.start for u in finished))
        kept_total = sum(pq.read_metadata(out_dir / f"{u.name}.parquet").num_rows for u in finished)
        done_units = len(finished)
        try:
            with _logs_above(bar):
                for unit, kept in _executor(executor)(todo, runner, self.workers, self.manifest.retries):
                    done_units += 1
                    kept_total += kept
                    bar.update(unit.stop - unit.start)
                    bar.set_postfix(units=f"{done_units}/{len(units)}", kept=kept_total)
        finally:
            bar.close()

    def check_sources(self, stats: Stats) -> None:
        """A build none of whose sources gave a single row is an error, named per source (units written
        before sources were counted count none, and are not judged)."""
        if stats.sources and not any(stats.source_counts(i).get("harvested") for i in range(len(self.manifest.sources))):
            from .summary import source_line

            raise BuildError("no source gave a row: " + "; ".join(
                source_line(i, e.source, stats.source_counts(i)) for i, e in enumerate(self.manifest.sources)))

    def perturbs(self) -> bool:
        return self.manifest.perturb.per_row > 0

    def unit_done(self, unit: Unit) -> bool:
        """A unit is done when its rows and its exclusion records are both on disk."""
        return all((d / f"{unit.name}.parquet").exists() for d in (self.units_dir, self.excluded_dir))

    def perturb_done(self, unit: Unit) -> bool:
        return all(p.exists() for p in (self.perturbed_dir / f"{unit.name}.parquet",
                                         self.excluded_dir / f"{unit.name}.perturb.parquet"))

    def unit_files(self, units: list[Unit]) -> list[Path]:
        """Each unit's first-pass file, then its perturbations: the order rows are written in."""
        missing = [u.name for u in units if not self.unit_done(u) or (self.perturbs() and not self.perturb_done(u))]
        if missing:
            raise BuildError(f"units not finished: {', '.join(missing[:5])}")
        files = []
        for u in units:
            files.append(self.units_dir / f"{u.name}.parquet")
            if self.perturbs():
                files.append(self.perturbed_dir / f"{u.name}.parquet")
        return files

    def exclusion_files(self, units: list[Unit]) -> list[Path]:
        files = []
        for u in units:
            files.append(self.excluded_dir / f"{u.name}.parquet")
            if self.perturbs():
                files.append(self.excluded_dir / f"{u.name}.perturb.parquet")
        return files

    def plan_perturbations(self, units: list[Unit]) -> None:
        """Decide the split over the first pass's rows and write, per unit, the ids of its ``sft`` parents: each
        id once, in the unit of its first row -- the row the build writes (an exact duplicate's twin in a later
        unit would be perturbed for nothing: same draws, same optimize ids, dropped as ``exact_duplicate``)."""
        files = [self.units_dir / f"{u.name}.parquet" for u in units]
        cols, bounds = read_light(files)
        split_of = self.split_generate_rows(cols, Stats())
        planned: set[str] = set()
        for unit, (lo, hi) in zip(units, bounds):
            parents = []
            for i in range(lo, hi):
                if cols["task"][i] == "generate" and split_of.get(cols["id"][i]) == "sft" and cols["id"][i] not in planned:
                    planned.add(cols["id"][i])
                    parents.append(cols["id"][i])
            write_text(plan_path(self.plan_dir, unit.name), json.dumps(parents))

    def split_generate_rows(self, cols: dict, stats: Stats) -> dict[str, str]:
        """The global filters (dedup, decontamination) over the generate rows, then the split of those
        kept: their id → split (dropped rows absent)."""
        positions = [i for i, task in enumerate(cols["task"]) if task == "generate"]
        hashes = hex_to_u64([cols["phash"][i] for i in positions])
        work = RowsWork(stats, [RowAt(i, cols["id"][i], cols["lang"][i], int(h)) for i, h in zip(positions, hashes)])
        t0 = time.monotonic()
        for f in self.global_filters:
            f(work)
        stats.time("dedup", time.monotonic() - t0)
        kept = work.items
        virl, test = held_out(self.manifest, self.limit, len(kept))
        splits = assign_splits([r.id for r in kept], [r.lang for r in kept],
                               np.array([r.phash for r in kept], dtype=np.uint64),
                               self.manifest.dedup.phash_radius, virl, test, self.manifest.seed)
        return {r.id: s for r, s in zip(kept, splits)}

    def finalize(self, units: list[Unit]) -> Stats:
        """Global steps over the finished units: dedup, split, optimize rows follow their parent, write."""
        from .shards import write_outputs

        files = self.unit_files(units)
        stats = Stats()
        for f in files:
            stats.merge(Stats.from_dict(json.loads(pq.read_schema(f).metadata[b"vinci_stats"])))
        self.check_sources(stats)
        cpu0 = time.thread_time()
        cols, _ = read_light(files)
        split_of = self.split_generate_rows(cols, stats)
        stats.spend("dedup", "all", time.thread_time() - cpu0)
        optimize = [RowAt(i, cols["id"][i], cols["lang"][i], parent=json.loads(cols["meta"][i])["parent"])
                    for i, task in enumerate(cols["task"]) if task != "generate"]
        PlaceOptimizeRows(split_of)(RowsWork(stats, optimize))
        global_drops, stats.excluded = stats.excluded, []
        records = self.iter_records(files, split_of, {e.meta["row"]: e for e in global_drops if "row" in e.meta})
        if self.progress:
            from tqdm import tqdm

            records = tqdm(records, total=len(split_of), desc="dedup+split+write", unit="row", dynamic_ncols=True)
        excluded = self.exclusion_files(units)
        try:
            write_outputs(self.out, self.manifest, records, stats, self.limit, excluded, global_drops)
        finally:
            records.close()
        return stats

    @staticmethod
    def iter_records(files: list[Path], split_of: dict[str, str],
                     pending: dict[int, Exclusion]) -> Iterator[tuple[str, Record]]:
        """Kept rows in unit order with their split, streamed a row group at a time; on the way,
        the exclusion records of the global drops (keyed by row position) get their row's content."""
        emitted: set[str] = set()
        position = 0
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=256):
                for row in batch.to_pylist():
                    keep = row["id"] in split_of and row["id"] not in emitted
                    if keep or position in pending:
                        for key in IMAGE_COLUMNS:
                            row[key] = row[key]["bytes"] if row.get(key) else None
                    if position in pending:
                        pending[position].complete(row)
                    position += 1
                    if keep:
                        emitted.add(row["id"])
                        yield split_of[row["id"]], Record.from_row(row)


def read_light(files: list[Path]) -> tuple[dict[str, list], list[tuple[int, int]]]:
    """The light columns of ``files`` concatenated, and each file's [start, stop) row range in them."""
    tables = [pq.read_table(f, columns=LIGHT_COLUMNS) for f in files]
    bounds, at = [], 0
    for t in tables:
        bounds.append((at, at + t.num_rows))
        at += t.num_rows
    light = pa.concat_tables(tables) if tables else None
    return {c: (light.column(c).to_pylist() if light is not None else []) for c in LIGHT_COLUMNS}, bounds


def _executor(name: str) -> Callable:
    if name == "local":
        from .executors.local import run_units
    elif name == "ray":
        from .executors.ray import run_units
    else:
        raise BuildError(f"unknown executor {name!r}: use local or ray")
    return run_units


def _logs_above(bar):
    """Log lines printed above the progress bar, never glued to it."""
    from contextlib import nullcontext

    from tqdm.contrib.logging import logging_redirect_tqdm

    return nullcontext() if bar.disable else logging_redirect_tqdm()


def _progress(total: int, desc: str, enabled: bool, initial: int = 0):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="row", disable=not enabled, dynamic_ncols=True)
