"""What a filter answers about one item: keep it, or drop it with a reason.

A filter answers ``True`` to keep; to drop, ``(False, reason)``, ``(False, reason, error)`` or a
``Drop`` (which can also carry the render the exclusion record shows and details for its ``meta``),
``error`` being the one line the exclusion record shows. Filters never count: the filter base class
(``core.steps.Filter.keep``) counts every ``in``, ``out`` and drop in one place, so a new filter
cannot forget to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Drop:
    """Why an item is dropped: ``reason`` is what ``stats.json`` counts, ``error`` the record's one line."""

    reason: str
    error: str = ""
    image: bytes | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Verdict = Union[bool, tuple[bool, str], tuple[bool, str, str], Drop]
KEEP: Verdict = True


def drop_of(verdict: Verdict) -> Drop | None:
    """``None`` for a keep, else the ``Drop``; a bare ``False`` is a filter bug, not a reason."""
    if verdict is True:
        return None
    if isinstance(verdict, Drop):
        return verdict
    if verdict is False or not isinstance(verdict, tuple) or verdict[0] is not False:
        raise TypeError(f"a filter answers True or (False, reason[, error]), not {verdict!r}")
    reason = verdict[1]
    return Drop(reason, verdict[2] if len(verdict) > 2 else reason)

