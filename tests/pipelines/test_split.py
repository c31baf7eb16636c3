from __future__ import annotations

import numpy as np

from filters.dedup import popcount
from pipelines.split import assign_splits, quotas


def test_quotas_are_proportional_and_exact():
    q = quotas(10, ["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    assert q == {"a": 5, "b": 3, "c": 2} and sum(q.values()) == 10


def test_held_out_rows_are_never_near_sft_rows():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 200, dtype=np.uint64)
    hashes = np.concatenate([base, base ^ np.uint64(0b101)])
    ids = [f"r{i}" for i in range(len(hashes))]
    langs = ["svg" if i % 2 else "smiles" for i in range(len(hashes))]
    splits = assign_splits(ids, langs, hashes, 4, virl=40, test=10, seed=0)
    virl = hashes[[s == "virl" for s in splits]]
    sft = hashes[[s == "sft" for s in splits]]
    assert len(virl) > 0 and splits.count("test") > 0
    assert popcount(virl[:, None] ^ sft[None, :]).min() > 4
    assert splits == assign_splits(ids, langs, hashes, 4, virl=40, test=10, seed=0)
