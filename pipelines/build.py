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
from filters.decontaminate import DecontaminationError, contaminated, load_reference
from filters.dedup import duplicate_of, greedy_keep, hex_to_u64, near_pairs

from .lock import FolderLock
from .manifest import Manifest
from .perturb.runner import PerturbRunner, plan_path
from .preflight import held_out
from .split import assign_splits
from .unit import Unit, UnitRunner, cut_units

log = logging.getLogger("vinci.build")
LIGHT_COLUMNS = ["id", "lang", "phash", "task", "meta"]
GLOBAL_STEPS = ("dedup", "decontaminate", "optimize")  # over all units, in the driver, after the unit steps


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
        runner = UnitRunner(self.manifest, self.units_dir, self.render_workers)
        self.run_pass(units, runner, self.unit_done, "harvest+render+filter", executor, self.units_dir)
        if self.perturbs():
            self.plan_perturbations(units)
            runner = PerturbRunner(self.manifest, self.units_dir, self.perturbed_dir, self.plan_dir, self.excluded_dir,
                                   self.render_workers)
            self.run_pass(units, runner, self.perturb_done, "perturb", executor, self.perturbed_dir)
        stats = self.finalize(units)
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
        """Decide the split over the first pass's rows and write, per unit, the ids of its ``sft`` parents."""
        files = [self.units_dir / f"{u.name}.parquet" for u in units]
        cols, bounds = read_light(files)
        split_of = self.split_generate_rows(cols, Stats())
        for unit, (lo, hi) in zip(units, bounds):
            parents = [cols["id"][i] for i in range(lo, hi)
                       if cols["task"][i] == "generate" and split_of.get(cols["id"][i]) == "sft"]
            write_text(plan_path(self.plan_dir, unit.name), json.dumps(parents))

    def split_generate_rows(self, cols: dict, stats: Stats) -> dict[str, str]:
        """Dedup, decontaminate and split the generate rows: their id → split (dropped rows absent)."""
        generate = np.array([t == "generate" for t in cols["task"]], dtype=bool)
        rows = np.flatnonzero(generate)
        ids = [cols["id"][i] for i in rows]
        langs = [cols["lang"][i] for i in rows]
        hashes = hex_to_u64([cols["phash"][i] for i in rows])
        t0 = time.monotonic()
        keep = self.dedup(ids, langs, hashes, stats, rows)
        keep &= ~self.decontaminate(ids, langs, hashes, keep, stats, rows)
        stats.time("dedup", time.monotonic() - t0)
        kept = np.flatnonzero(keep)
        virl, test = held_out(self.manifest, self.limit, len(kept))
        splits = assign_splits([ids[i] for i in kept], [langs[i] for i in kept], hashes[kept],
                               self.manifest.dedup.phash_radius, virl, test, self.manifest.seed)
        return {ids[i]: s for i, s in zip(kept, splits)}

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
        generate = np.array([t == "generate" for t in cols["task"]], dtype=bool)
        self.place_optimize_rows(cols, np.flatnonzero(~generate), split_of, stats)
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
    def place_optimize_rows(cols: dict, rows: np.ndarray, split_of: dict[str, str], stats: Stats) -> None:
        """An optimize row lives where its clean parent lives; ``virl`` holds generate prompts only."""
        for i in rows:
            rid, lang = cols["id"][i], cols["lang"][i]
            parent = json.loads(cols["meta"][i])["parent"]
            parent_split = split_of.get(parent)
            if parent_split is None:
                stats.drop("optimize", lang, "parent_dropped", RowAt(int(i), rid, lang),
                           error=f"its clean row {parent} was dropped by dedup", parent=parent)
            elif parent_split == "virl":
                stats.drop("optimize", lang, "parent_in_virl", RowAt(int(i), rid, lang),
                           error=f"its clean row {parent} is a virl prompt (virl holds generate rows only)", parent=parent)
            elif rid in split_of:
                stats.drop("optimize", lang, "exact_duplicate", RowAt(int(i), rid, lang),
                           error="the same target and flawed code as an earlier optimize row")
            else:
                split_of[rid] = parent_split
                stats.add("optimize", lang, "out")

    def dedup(self, ids: list[str], langs: list[str], hashes: np.ndarray, stats: Stats,
              positions: np.ndarray) -> np.ndarray:
        """Exact then perceptual duplicates; ``positions`` are the rows' places in the unit files."""
        keep = np.ones(len(ids), dtype=bool)
        seen: set[str] = set()
        for i, (rid, lang) in enumerate(zip(ids, langs)):
            stats.add("dedup", lang, "in")
            if rid in seen:
                keep[i] = False
                stats.drop("dedup", lang, "exact_duplicate", RowAt(int(positions[i]), rid, lang),
                           error="the same normalized code as an earlier row")
            seen.add(rid)
        radius = self.manifest.dedup.phash_radius
        for lang in sorted(set(langs)):
            rows = np.flatnonzero((np.array(langs) == lang) & keep)
            pairs = near_pairs(hashes[rows], radius)
            mask = greedy_keep(len(rows), pairs)
            near = duplicate_of(len(rows), pairs, mask)
            for k in np.flatnonzero(~mask):
                r, twin = rows[k], ids[rows[near[int(k)]]]
                keep[r] = False
                stats.drop("dedup", lang, "near_duplicate", RowAt(int(positions[r]), ids[r], lang),
                           error=f"image within {radius} pHash bits of row {twin}", kept=twin)
            stats.add("dedup", lang, "out", int(mask.sum()))
        return keep

    def decontaminate(self, ids: list[str], langs: list[str], hashes: np.ndarray, keep: np.ndarray, stats: Stats,
                      positions: np.ndarray) -> np.ndarray:
        """Mask of kept rows that match ``dedup.against`` (dropped as ``contaminated``)."""
        targets = self.manifest.dedup.targets()
        hit = np.zeros(len(ids), dtype=bool)
        if not targets:
            return hit
        try:
            reference = load_reference(targets, self.manifest.seed)
        except DecontaminationError as exc:
            raise BuildError(str(exc)) from exc
        for target, n in reference.counts.items():
            stats.add("decontaminate", "all", f"reference:{target}", n)
        rows = np.flatnonzero(keep)
        hit[rows] = contaminated([ids[i] for i in rows], hashes[rows], reference, self.manifest.dedup.phash_radius)
        for i in rows:
            stats.add("decontaminate", langs[i], "in")
            if hit[i]:
                stats.drop("decontaminate", langs[i], "contaminated", RowAt(int(positions[i]), ids[i], langs[i]),
                           error=f"within {self.manifest.dedup.phash_radius} pHash bits of, or the same code as, "
                                 "a picture of dedup.against")
            else:
                stats.add("decontaminate", langs[i], "out")
        return hit

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
