"""What a filter answers about one item: keep it, or drop it with a reason.

A filter is a callable ``item -> Verdict``: ``True`` keeps; ``(False, reason)`` or
``(False, reason, error)`` drops, ``error`` being the one line the exclusion record shows. Filters
never count: the unit's driver counts every ``in``, ``out`` and drop in one place
(``pipelines.unit.keep_where``), so a new filter cannot forget to.
"""
from __future__ import annotations

from typing import Union

Verdict = Union[bool, tuple[bool, str], tuple[bool, str, str]]
KEEP: Verdict = True


def parts(verdict: Verdict) -> tuple[bool, str, str]:
    """(keep, reason, error) of any verdict; a bare ``False`` is a filter bug, not a reason."""
    if verdict is True:
        return True, "", ""
    if verdict is False or not isinstance(verdict, tuple) or verdict[0] is not False:
        raise TypeError(f"a filter answers True or (False, reason[, error]), not {verdict!r}")
    reason = verdict[1]
    return False, reason, verdict[2] if len(verdict) > 2 else reason
