"""Near-duplicate search at scale: the multi-index pHash search against brute force, side by side.

For N random 64-bit hashes with 1% planted near-duplicates (1-`radius` bit flips), prints the time
and peak memory of ``near_pairs`` (multi-index hashing: radius+1 exact-match chunks, popcounts only
within shared buckets) and of all-pairs brute force where that is feasible, and checks that both
find the same pairs. One core (numpy single-threaded for popcounts).

    python benchmarks/dedup_scaling.py [--sizes 10000,100000,1000000] [--radius 4] [--brute-max 100000]
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.dedup import brute_force_pairs, greedy_keep, near_pairs  # noqa: E402


def planted(n: int, radius: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64)
    dupes = n // 100
    sources = rng.choice(n, dupes, replace=False)
    targets = rng.choice(np.setdiff1d(np.arange(n), sources), dupes, replace=False)
    for s, t in zip(sources, targets):
        value = hashes[s]
        for bit in rng.choice(64, rng.integers(1, radius + 1), replace=False):
            value ^= np.uint64(1) << np.uint64(int(bit))
        hashes[t] = value
    return hashes


def measure(fn, *args):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--radius", type=int, default=4)
    parser.add_argument("--brute-max", type=int, default=100000)
    args = parser.parse_args()
    print(f"radius {args.radius}; 1% planted near-duplicates; times in s, peak traced memory in MiB")
    print(f"{'N':>9} {'pairs':>7} {'indexed s':>10} {'MiB':>7} {'+greedy s':>10} {'brute s':>9} {'MiB':>7} {'same':>5}")
    for n in (int(s) for s in args.sizes.split(",")):
        hashes = planted(n, args.radius)
        pairs, t_idx, m_idx = measure(near_pairs, hashes, args.radius)
        _, t_keep, _ = measure(greedy_keep, n, pairs)
        if n <= args.brute_max:
            brute, t_brute, m_brute = measure(brute_force_pairs, hashes, args.radius)
            same = {tuple(p) for p in pairs.tolist()} == {tuple(p) for p in brute.tolist()}
            brute_cols = f"{t_brute:>9.2f} {m_brute / 2**20:>7.1f} {str(same):>5}"
        else:
            brute_cols = f"{'-':>9} {'-':>7} {'-':>5}"
        print(f"{n:>9,} {len(pairs):>7,} {t_idx:>10.2f} {m_idx / 2**20:>7.1f} {t_keep:>10.2f} {brute_cols}")


if __name__ == "__main__":
    main()
