"""Checks a manifest can pass before anything is built: run by ``--plan`` and at the start of a build."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import Manifest


@dataclass
class Preflight:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def quota_total(manifest: Manifest, limit: int | None = None) -> int:
    return sum(e.quota(limit) for e in manifest.sources)


def preflight(manifest: Manifest, limit: int | None = None) -> Preflight:
    """What a source's kind says stops it (a ``dir:`` input that is not there) is an error; a split that
    cannot get rows is a warning."""
    from sources.registry import resolve_source

    found = Preflight()
    for i, entry in enumerate(manifest.sources):
        problem = resolve_source(entry.source, entry.options).problem()
        if problem:
            found.errors.append(f"sources.{i}: {problem}")
    found.warnings.extend(split_warnings(manifest, limit))
    return found


def held_out(manifest: Manifest, limit: int | None = None, rows: int | None = None) -> tuple[int, int]:
    """The ``virl`` and ``test`` sizes of a build. Under ``--limit`` they shrink with the quotas (at least 1
    each where the manifest asks for any) and, given the ``rows`` that survived the filters, leave ``sft: rest``
    at least one row where there are enough: a quick try gets every split, not a ``virl`` that took everything."""
    s = manifest.splits
    virl, test = s.virl, s.test
    full, limited = quota_total(manifest), quota_total(manifest, limit)
    if limit is None or limited >= full:
        return virl, test
    virl, test = (max(1, round(n * limited / full)) if n else 0 for n in (virl, test))
    while s.sft == "rest" and rows is not None and virl + test >= rows and rows > bool(virl) + bool(test):
        if virl >= test:
            virl -= 1
        else:
            test -= 1
    return virl, test


def split_warnings(manifest: Manifest, limit: int | None = None) -> list[str]:
    """``sft: rest`` gets what ``virl`` and ``test`` leave; before any filtering that may be nothing."""
    s = manifest.splits
    total = quota_total(manifest, limit)
    virl, test = held_out(manifest, limit, total)
    if s.sft == "rest" and total <= virl + test:
        return [f"split 'sft' will have no rows: the sources give at most {total:,} rows and virl/test hold out "
                f"{virl + test:,} (splits.virl {virl}, splits.test {test}); lower them or raise the quotas"]
    return []


def empty_split_warnings(rows: dict[str, int], manifest: Manifest) -> list[str]:
    """After a build: the ``sft`` split ended empty (filters and dedup dropped what virl/test left)."""
    if rows.get("sft", 0) or manifest.splits.sft == 0:
        return []
    kept = sum(rows.values())
    return [f"split 'sft' has no rows: {kept:,} rows survived the filters and virl/test hold out up to "
            f"{manifest.splits.virl + manifest.splits.test:,}; lower splits.virl/splits.test or raise the quotas"]


def stats_rows(out: str | Path) -> dict[str, int]:
    """Rows per split of a finished build, from its ``stats.json``."""
    return json.loads((Path(out) / "stats.json").read_text())["rows"]
