"""Which rows survive deduplication: greedily, in a fixed row order, so the result does not depend on
how the corpus was sharded."""
from __future__ import annotations

import numpy as np


def greedy_keep(n: int, pairs: np.ndarray) -> np.ndarray:
    """Keep row ``j`` unless an earlier *kept* row is within the radius; returns a boolean mask."""
    keep = np.ones(n, dtype=bool)
    if len(pairs) == 0:
        return keep
    order = np.argsort(pairs[:, 1], kind="stable")
    later, earlier = pairs[order, 1], pairs[order, 0]
    bounds = np.searchsorted(later, np.arange(n + 1))
    for j in np.unique(later):
        neighbours = earlier[bounds[j]:bounds[j + 1]]
        if keep[neighbours].any():
            keep[j] = False
    return keep


def duplicate_of(n: int, pairs: np.ndarray, keep: np.ndarray) -> dict[int, int]:
    """For each dropped row, the earliest kept row it is near (for the record of why it went)."""
    out: dict[int, int] = {}
    for i, j in pairs:
        if not keep[j] and keep[i] and (j not in out or i < out[j]):
            out[int(j)] = int(i)
    return out
