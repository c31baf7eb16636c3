"""Checks a manifest can pass before anything is built: run by ``--plan`` and at the start of a build."""
from __future__ import annotations

import json
import os
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
    """Missing ``dir:`` inputs are errors; a split that cannot get rows is a warning."""
    found = Preflight()
    for i, entry in enumerate(manifest.sources):
        prefix, _, rest = entry.source.partition(":")
        if prefix == "dir" and not os.path.exists(rest):
            found.errors.append(f"sources.{i}: {entry.source}: no such folder or archive")
    found.warnings.extend(split_warnings(manifest, limit))
    return found


def split_warnings(manifest: Manifest, limit: int | None = None) -> list[str]:
    """``sft: rest`` gets what ``virl`` and ``test`` leave; before any filtering that may be nothing."""
    s = manifest.splits
    total, held = quota_total(manifest, limit), s.virl + s.test
    if s.sft == "rest" and total <= held:
        return [f"split 'sft' will have no rows: the sources give at most {total:,} rows and virl/test hold out "
                f"{held:,} (splits.virl {s.virl}, splits.test {s.test}); lower them or raise the quotas"]
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
