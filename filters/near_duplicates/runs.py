"""Walking runs of equal labels in sorted arrays: every pair inside a run, the near ones among them,
and slices of a sorted array that never cut a run or a bucket."""
from __future__ import annotations

import numpy as np

from .bits import popcount


def pairs_in_runs(labels: np.ndarray) -> np.ndarray:
    """Position pairs ``(a, b)``, ``a < b``, inside each run of equal values of sorted ``labels``."""
    found = []
    for offset, active in run_offsets(labels):
        found.append(np.stack([active, active + offset], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def run_offsets(labels: np.ndarray):
    """Yield ``(d, positions a)`` with ``labels[a] == labels[a + d]``, for d = 1, 2, ...

    Runs are contiguous, so the positions for ``d + 1`` are those for ``d`` whose run reaches one
    further: the work is the number of pairs, not the number of labels times the longest run.
    """
    if len(labels) < 2:
        return
    same_as_next = labels[1:] == labels[:-1]
    active = np.flatnonzero(same_as_next)
    if active.size == 0:
        return
    ends_here = ~same_as_next
    run_ends = np.append(np.flatnonzero(ends_here), len(labels) - 1)
    after = (run_ends[np.cumsum(ends_here, dtype=np.int32)[active]] - active).astype(np.int32)  # later run mates
    offset = 1
    while active.size:
        yield offset, active
        offset += 1
        keep = after >= offset
        active, after = active[keep], after[keep]


def near_in_runs(values: np.ndarray, labels: np.ndarray, radius: int,
                  masks: list[np.uint64]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs inside runs of equal ``labels`` within ``radius`` bits that differ on every mask (first found here).

    While most values still have a run mate ``d`` further on, the whole slice is compared with
    itself shifted by ``d`` (contiguous, no gathers); later only the positions that do.
    """
    found = []
    for offset, active in run_offsets(labels):
        if 4 * len(active) > len(values):
            x = values[offset:] ^ values[:-offset]
            near = np.flatnonzero((popcount(x) <= radius) & (labels[offset:] == labels[:-offset]))
            a = near
        else:
            x = values[active] ^ values[offset:][active]
            near = np.flatnonzero(popcount(x) <= radius)
            a = active[near]
        if near.size == 0:
            continue
        x = x[near]
        first_here = np.ones(len(near), dtype=bool)
        for mask in masks:
            first_here &= (x & mask) != 0
        a = a[first_here]
        found.append((values[a], values[a + offset]))
    return found


def bucket_slices(moved: np.ndarray, shift: int, size: int):
    """Yield ``(lo, hi)`` slices of sorted ``moved`` of about ``size`` values that never cut a bucket
    (values equal above bit ``shift``)."""
    low = np.uint64((1 << shift) - 1)
    lo, n = 0, len(moved)
    while lo < n:
        hi = n if lo + size >= n else int(np.searchsorted(moved, moved[lo + size - 1] | low, side="right"))
        yield lo, hi
        lo = hi


def run_chunks(labels: np.ndarray, size: int):
    """Yield ``(lo, hi)`` slices of sorted ``labels`` of about ``size`` values that never cut a run."""
    lo, n = 0, len(labels)
    while lo < n:
        hi = n if lo + size >= n else int(np.searchsorted(labels, labels[lo + size - 1], side="right"))
        yield lo, hi
        lo = hi
