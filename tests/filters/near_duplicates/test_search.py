"""The near-duplicate search finds exactly the pairs brute force finds, on planted, clustered and crowded hashes."""
from __future__ import annotations

import numpy as np

from filters.near_duplicates import brute_force_pairs, near_pairs


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


def clustered(clusters: int, per_cluster: int, max_flips: int, seed: int = 0, mask: int = 2**64 - 1) -> np.ndarray:
    """Many near-identical hashes: a few random centres, each copied with 0..max_flips bit flips."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**63, clusters, dtype=np.uint64)
    h = np.repeat(centres, per_cluster)
    for _ in range(max_flips):
        flip = rng.random(len(h)) < 0.5
        h ^= np.where(flip, np.uint64(1) << rng.integers(0, 64, len(h)).astype(np.uint64), np.uint64(0))
    return rng.permutation(h) & np.uint64(mask)


def assert_exact(h: np.ndarray, radius: int) -> None:
    found = near_pairs(h, radius)
    brute = brute_force_pairs(h, radius)
    assert len(found) > 0 and (found[:, 0] < found[:, 1]).all()
    assert (np.diff(found[:, 0] * len(h) + found[:, 1]) > 0).all(), "sorted by (i, j), each pair once"
    assert np.array_equal(found, brute[np.lexsort((brute[:, 1], brute[:, 0]))])


def test_clustered_hashes_equal_brute_force():
    for radius in (1, 3, 4, 6):
        assert_exact(clustered(12, 250, 6, seed=radius), radius)


def test_crowded_clusters_with_constant_bits_equal_brute_force():
    assert_exact(clustered(6, 300, 6, seed=1, mask=0xFFFF00000000FFFF), 4)
    assert_exact(clustered(3, 200, 3, seed=2, mask=0xFF), 4)


def test_radius_zero_pairs_only_equal_hashes():
    h = np.array([5, 7, 5, 9, 5, 7], dtype=np.uint64)
    assert as_set(near_pairs(h, 0)) == {(0, 2), (0, 4), (2, 4), (1, 5)}


def test_duplicated_values_pair_with_each_other_and_their_neighbours():
    h = np.array([0b1000, 0b1001, 0b1000, 0xFF00, 0b1001, 0b1000], dtype=np.uint64)
    assert as_set(near_pairs(h, 1)) == {(i, j) for i in (0, 1, 2, 4, 5) for j in (0, 1, 2, 4, 5) if i < j}


def test_all_identical_and_tiny_inputs():
    n = 300
    assert len(near_pairs(np.full(n, 0xABC, dtype=np.uint64), 4)) == n * (n - 1) // 2
    assert near_pairs(np.zeros(0, dtype=np.uint64), 4).shape == (0, 2)
    assert near_pairs(np.array([3], dtype=np.uint64), 4).shape == (0, 2)
    h = np.array([0, 2**64 - 1, 12345], dtype=np.uint64)
    assert as_set(near_pairs(h, 64)) == {(0, 1), (0, 2), (1, 2)}


def test_small_slices_blocks_and_moves_find_the_same_pairs(monkeypatch):
    from filters.near_duplicates import bits, multi_index

    h = clustered(4, 400, 5, seed=7, mask=0xFFFFFFFF0000FFFF)
    expected = near_pairs(h, 4)
    monkeypatch.setattr(multi_index, "CHUNK", 37)  # slices end mid-way through the data, never inside a bucket
    monkeypatch.setattr(bits, "MOVE_BLOCK", 29)
    monkeypatch.setattr(multi_index, "BLOCK_ABOVE", 40)  # crowded groups go through the block comparison
    assert np.array_equal(near_pairs(h, 4), expected)
    assert_exact(h, 4)


def test_one_bucket_holding_most_hashes_equals_brute_force():
    rng = np.random.default_rng(3)
    crowd = clustered(1, 3000, 14, seed=3, mask=0x0000FFFFFFFF0000)  # 32 constant bits: every chunk key collides
    h = np.concatenate([crowd, rng.integers(0, 2**63, 6000, dtype=np.uint64)])
    assert_exact(rng.permutation(h), 4)
