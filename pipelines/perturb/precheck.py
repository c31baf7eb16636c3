"""Pre-render checks: a perturbation whose verdict is known without rendering it is dropped before
its render is spent."""
from __future__ import annotations

from core.records import Record
from core.verdicts import Drop
from filters.dedup import normalize_code


def doomed(parent: Record, flawed: str, error: str | None) -> Drop | None:
    if error is None and normalize_code(parent.lang, flawed) == normalize_code(parent.lang, parent.code):
        return Drop("same_code", "the flawed code is the original once normalised")
    return None
