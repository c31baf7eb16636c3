"""Survivors of deduplication: chosen greedily in row order, and each dropped row names the kept one it is near."""
from __future__ import annotations

import numpy as np

from filters.near_duplicates import near_pairs
from filters.survivors import duplicate_of, greedy_keep


def test_greedy_keep_is_deterministic_and_order_based():
    h = np.array([0b0, 0b1, 0b11, 0xFFFF], dtype=np.uint64)
    keep = greedy_keep(4, near_pairs(h, 1))
    assert keep.tolist() == [True, False, True, True]
    assert duplicate_of(4, near_pairs(h, 1), keep) == {1: 0}
