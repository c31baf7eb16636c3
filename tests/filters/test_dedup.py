from __future__ import annotations

import numpy as np

from filters.dedup import brute_force_pairs, greedy_keep, near_pairs, normalize_code


def planted(n: int, dupes: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64)
    for k in range(dupes):
        flips = rng.choice(64, size=rng.integers(0, 6), replace=False)
        v = h[k + dupes]
        for bit in flips:
            v ^= np.uint64(1) << np.uint64(int(bit))
        h[k] = v
    return h


def as_set(pairs):
    return {tuple(map(int, p)) for p in pairs}


def test_indexed_search_equals_brute_force():
    for radius in (0, 2, 4, 7):
        h = planted(3000, 300, seed=radius)
        assert as_set(near_pairs(h, radius)) == as_set(brute_force_pairs(h, radius))


def test_greedy_keep_is_deterministic_and_order_based():
    h = np.array([0b0, 0b1, 0b11, 0xFFFF], dtype=np.uint64)
    keep = greedy_keep(4, near_pairs(h, 1))
    assert keep.tolist() == [True, False, True, True]


def test_normalization_ignores_comments_and_layout():
    assert normalize_code("python", "x = 1  # one\n\ny=2\n") == normalize_code("python", "x = 1\ny = 2")
    assert normalize_code("html", "<p>\n  hi <!-- c --></p>") == normalize_code("html", "<p>hi </p>")
    assert normalize_code("latex", "\\draw (0,0); % c\n") == normalize_code("latex", "\\draw (0,0);")
    assert normalize_code("smiles", "OCC") == normalize_code("smiles", "CCO")
    assert normalize_code("latex", "50\\% off") != normalize_code("latex", "50")
