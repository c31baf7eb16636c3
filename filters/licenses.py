"""Licences as data: a manifest may allow or refuse licences; refused rows are counted drops.

Each raw sample carries its licence (the dataset's, or the file's own for folder sources). The
check runs right after harvest, before anything is rendered, so a refused row costs nothing.
"""
from __future__ import annotations

from typing import Sequence

from core.steps import Filter
from core.verdicts import KEEP, Verdict
from sources.base import RawSample


def normalize_license(name: str) -> str:
    return (name or "").strip().lower()


def permitted(license: str, allow: Sequence[str] | None, deny: Sequence[str] | None) -> bool:
    """``allow``: only these pass; ``deny``: all but these pass (names compared case-insensitively)."""
    name = normalize_license(license)
    if allow is not None:
        return name in {normalize_license(a) for a in allow}
    return name not in {normalize_license(d) for d in deny or ()}


class LicenseFilter(Filter):
    """Keeps the samples whose licence the manifest's ``licenses`` policy permits; without a policy it
    lets every sample through uncounted."""

    name = "license_filter"

    def __init__(self, policy) -> None:
        self.policy = policy

    @classmethod
    def from_manifest(cls, manifest) -> "LicenseFilter":
        return cls(manifest.licenses)

    def __call__(self, work) -> None:
        if self.policy is not None:
            super().__call__(work)

    def verdict(self, sample: RawSample) -> Verdict:
        if permitted(sample.license, self.policy.allow, self.policy.deny):
            return KEEP
        return False, "license_refused", f"licence {sample.license!r} is refused by the manifest"
