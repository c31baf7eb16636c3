"""Near-duplicate search: every pair of 64-bit hashes within a Hamming radius, exactly.

Exact multi-index hashing that adapts to clustered hashes (real pHashes share white backgrounds and
layouts, so fixed chunk buckets grow with the corpus): equal hashes are searched once; the distinct
values are cut into parts, and since a pair within ``radius`` bits agrees on at least
``parts - radius`` of them, one sort per such subset of parts brings every pair together. The number
of parts is chosen per level by a cost model measured on sampled pairs (``cost_model``), a crowded
bucket is split again on the bits not yet keyed on (``multi_index``), and a pair is reported only
under the first subset it agrees on, so it is found exactly once, with no global de-duplication.
It finds exactly the pairs ``brute_force_pairs`` finds.
"""
from __future__ import annotations

import numpy as np

from .bits import popcount
from .multi_index import BRUTE_CELLS, distinct_near_pairs
from .runs import pairs_in_runs

__all__ = ["brute_force_pairs", "near_pairs", "popcount"]


def near_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """All index pairs ``(i, j)``, ``i < j``, whose hashes differ in at most ``radius`` bits.

    Sorted by ``(i, j)``. Equal hashes are searched once (their rows pair up among themselves and
    inherit their value's pairs), the distinct values through ``distinct_near_pairs``.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = np.argsort(hashes)
    sorted_hashes = hashes[order]
    first = np.concatenate(([True], sorted_hashes[1:] != sorted_hashes[:-1]))
    starts = np.flatnonzero(first)
    values = sorted_hashes[starts]
    counts = np.diff(np.append(starts, n))
    if radius >= 64:
        value_pairs = pairs_in_runs(np.zeros(len(values), dtype=np.int64))
    elif radius > 0 and len(values) > 1:
        value_pairs = distinct_near_pairs(values, radius)
    else:
        value_pairs = np.zeros((0, 2), dtype=np.int64)
    equal = pairs_in_runs(np.cumsum(first) - 1)
    rows = np.concatenate([order[equal], row_pairs(value_pairs, order, starts, counts)])
    return sorted_pairs(rows, n)


def row_pairs(value_pairs: np.ndarray, order: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Every row of one value paired with every row of the other, for each near pair of values."""
    if len(value_pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    u, w = value_pairs[:, 0], value_pairs[:, 1]
    cu, cw = counts[u], counts[w]
    if (cu == 1).all() and (cw == 1).all():
        return np.stack([order[starts[u]], order[starts[w]]], axis=1)
    sizes = cu * cw
    which = np.repeat(np.arange(len(value_pairs)), sizes)
    k = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.stack([order[starts[u][which] + k // cw[which]], order[starts[w][which] + k % cw[which]]], axis=1)


def sorted_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    keyed = np.sort(lo.astype(np.int64) * n + hi)
    return np.stack([keyed // n, keyed % n], axis=1)


def brute_force_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """Reference all-pairs search, for the benchmark and the tests (a block of rows at a time)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    n, found = len(hashes), []
    block = max(1, BRUTE_CELLS // max(n, 1))
    for lo in range(0, n, block):
        rows = np.arange(lo, min(lo + block, n))
        dist = popcount(hashes[rows][:, None] ^ hashes[lo:][None, :])
        a, b = np.nonzero(dist <= radius)
        keep = rows[a] < lo + b
        found.append(np.stack([rows[a[keep]], lo + b[keep]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
