"""Licences as data: a manifest may allow or refuse licences; refused rows are counted drops.

Each raw sample carries its licence (the dataset's, or the file's own for folder sources). The
check runs right after harvest, before anything is rendered, so a refused row costs nothing.
"""
from __future__ import annotations

from typing import Sequence

from pipelines.stats import Stats
from sources.base import RawSample

STAGE = "license_filter"


def normalize_license(name: str) -> str:
    return (name or "").strip().lower()


def permitted(license: str, allow: Sequence[str] | None, deny: Sequence[str] | None) -> bool:
    """``allow``: only these pass; ``deny``: all but these pass (names compared case-insensitively)."""
    name = normalize_license(license)
    if allow is not None:
        return name in {normalize_license(a) for a in allow}
    return name not in {normalize_license(d) for d in deny or ()}


def license_filter(samples: Sequence[RawSample], policy, stats: Stats) -> list[RawSample]:
    """Keep the samples whose licence the manifest's ``licenses`` policy permits (all of them without one)."""
    if policy is None:
        return list(samples)
    kept = []
    for sample in samples:
        stats.add(STAGE, sample.lang, "in")
        if permitted(sample.license, policy.allow, policy.deny):
            stats.add(STAGE, sample.lang, "out")
            kept.append(sample)
        else:
            stats.drop(STAGE, sample.lang, "license_refused", sample, error=f"licence {sample.license!r} is refused by the manifest")
    return kept
