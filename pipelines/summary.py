"""The one-screen summary printed at the end of a build."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from core.exclusions import excluded_files
from core.stats import Stats

from .build import GLOBAL_STEPS
from .perturb.runner import PerturbRunner
from .unit import UNIT_STEPS

EXAMPLES = 5
STAGES = tuple(step.name for step in (*UNIT_STEPS, *PerturbRunner.STEPS, *GLOBAL_STEPS))


def skipped_text(counts: dict[str, int]) -> str:
    """``3 undecodable, 1 symlink`` from a source's ``skipped:<reason>`` counts; ``none`` when there are none."""
    skipped = sorted(((k.partition(":")[2], n) for k, n in counts.items() if k.startswith("skipped:") and n),
                     key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n:,} {reason}" for reason, n in skipped) or "none"


def source_line(index: int, spec: str, counts: dict[str, int]) -> str:
    return (f"sources.{index} {spec}: {counts.get('harvested', 0):,} rows harvested, "
            f"files skipped: {skipped_text(counts)}")


def empty_source_warnings(manifest, stats: Stats) -> list[str]:
    """A source that gave no row (an empty folder, a tree of undecodable files) is a warning, never silent."""
    return [f"{source_line(i, e.source, stats.source_counts(i))}; it gave no rows"
            for i, e in enumerate(manifest.sources) if stats.sources and not stats.source_counts(i).get("harvested")]


def print_sources(manifest, stats: Stats, limit: int | None) -> None:
    width = max(len("source"), *(len(e.source) for e in manifest.sources))
    print(f"{'source':<{width}} {'quota':>8} {'harvested':>10}  files skipped")
    for i, entry in enumerate(manifest.sources):
        counts = stats.source_counts(i)
        print(f"{entry.source:<{width}} {entry.quota(limit):>8,} {counts.get('harvested', 0):>10,}  {skipped_text(counts)}")


def print_summary(out, stats: Stats, manifest=None, limit: int | None = None) -> None:
    table = stats.table()
    langs = sorted({lang for stage in STAGES for lang in table.get(stage, {})})
    print(f"\nbuild folder: {out}   total {stats.timings.get('total_s', 0):.0f} s   "
          f"peak RSS of the build process {stats.gauges.get('peak_rss_mb', 0):.0f} MB")
    if manifest is not None:
        print_sources(manifest, stats, limit)
    print(f"{'stage':<14}" + "".join(f"{lang:>16}" for lang in langs))
    for stage in STAGES:
        if stage not in table:
            continue
        cells = []
        for lang in langs:
            c = table[stage].get(lang, {})
            cells.append(f"{c.get('in', c.get('out', 0)):>7}→{c.get('out', 0):<7}" if "in" in c else f"{c.get('out', 0):>15} ")
        print(f"{stage:<14}" + "".join(f"{cell:>16}" for cell in cells))
    written = {}
    for lang, cols in table.get("write", {}).items():
        for key, n in cols.items():
            written[key] = written.get(key, 0) + n
    print("written: " + ", ".join(f"{k} {v:,}" for k, v in sorted(written.items())))
    top = stats.top_drop_reasons(6)
    if top:
        print("top drop reasons: " + "; ".join(f"{r} ({n})" for r, n in top))
    print_exclusions(out)


def print_exclusions(out) -> None:
    """Where the dropped samples are, and the first few of them with where they came from and why."""
    files = excluded_files(out)
    if not files:
        return
    columns = ["stage", "reason", "source_ref", "error"]
    rows = [r for f in files for r in pq.read_table(f, columns=columns).to_pylist()]
    rows.sort(key=lambda r: STAGES.index(r["stage"]) if r["stage"] in STAGES else len(STAGES))
    print(f"excluded: {len(rows):,} samples in {Path(out) / 'excluded'}/ "
          f"(draw them: vinci inspect {out} --excluded [--reason R] -o excluded.png)")
    for r in rows[:EXAMPLES]:
        print(f"  {r['stage']}: {r['reason']}  {r['source_ref']}" + (f"  {r['error'][:120]}" if r["error"] else ""))
    if len(rows) > EXAMPLES:
        print(f"  … and {len(rows) - EXAMPLES:,} more")
