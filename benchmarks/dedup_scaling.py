"""Near-duplicate search at scale: ``near_pairs`` against the index before issue 15 and brute force.

``--hashes planted``: N uniform random 64-bit hashes with 1% planted near-duplicates (the easy case:
every chunk bucket is small). ``--hashes real``: real pHashes, which cluster (white backgrounds,
shared layouts): the ``phashes-*.npy`` of ``--real-dir`` (default: the base committed in
``benchmarks/inputs/``, see its README; ``benchmarks/data`` holds what ``real_phashes.py`` renders
here), first as they are, then resampled to larger N -- each row a random real hash with ``--flips``
random bit flips, so rows keep the real bit statistics and clusters.

Per N: pairs found, wall and CPU seconds and peak resident memory growth of ``near_pairs``; the old index's
seconds where N <= ``--old-max``; agreement with brute force: every pair where N <= ``--brute-max``,
above that the full neighbour lists of ``--check-rows`` rows (half random, half with neighbours)
computed against all N rows. One process, numpy single-threaded.

    python benchmarks/dedup_scaling.py --hashes real [--sizes real,1000000,10000000] [--radius 4] [--base REF]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.dedup import brute_force_pairs, near_pairs, popcount  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
INPUTS = Path(__file__).resolve().parent / "inputs"


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


def real_hashes(folder: Path = INPUTS) -> tuple[np.ndarray, list[str]]:
    """All real hashes in ``folder`` (finished files, else the partial ones)."""
    files = sorted(folder.glob("phashes-*.npy"))
    finished = {f.name.replace(".partial", "") for f in files if ".partial" not in f.name}
    files = [f for f in files if ".partial" not in f.name or f.name.replace(".partial", "") not in finished]
    if not files:
        raise SystemExit(f"no phashes-*.npy in {folder}: render some with "
                         f"python benchmarks/real_phashes.py --rows N (they go to {DATA})")
    parts, names = [], []
    for f in files:
        values = np.load(f)
        values = values[:-1] if ".partial" in f.name else values  # a partial file ends with its next index
        parts.append(values)
        names.append(f"{f.name}: {len(values):,}")
    return np.concatenate(parts), names


def resample(real: np.ndarray, n: int, flips: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``n`` rows, each a random real hash with ``lo..hi`` random bits flipped (a bit drawn twice flips back)."""
    rng = np.random.default_rng(seed)
    out = real[rng.integers(0, len(real), n)]
    count = rng.integers(flips[0], flips[1] + 1, n)
    for step in range(flips[1]):
        bit = np.uint64(1) << rng.integers(0, 64, n).astype(np.uint64)
        out ^= np.where(count > step, bit, np.uint64(0))
    return out


def old_near_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """The index before issue 15: ``radius + 1`` chunks, every bucket compared all-pairs, then a global unique."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    n, parts = len(hashes), min(radius + 1, 64)
    sizes = [64 // parts + (1 if i < 64 % parts else 0) for i in range(parts)]
    found, shift = [], 0
    for bits in sizes:
        keys = (hashes >> np.uint64(shift)) & np.uint64((1 << bits) - 1 if bits < 64 else 2**64 - 1)
        shift += bits
        order = np.argsort(keys, kind="stable")
        bounds = np.flatnonzero(np.diff(keys[order])) + 1
        starts, ends = np.concatenate(([0], bounds)), np.concatenate((bounds, [n]))
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
            idx = np.sort(order[start:end])
            for lo in range(0, len(idx), 2048):
                block, rest = idx[lo:lo + 2048], idx[lo:]
                a, b = np.nonzero(popcount(hashes[block][:, None] ^ hashes[rest][None, :]) <= radius)
                keep = a < b
                found.append(np.stack([block[a[keep]], rest[b[keep]]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    keyed = np.unique(np.concatenate(found) @ np.array([n, 1]))
    return np.stack([keyed // n, keyed % n], axis=1)


def resident_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fn, *args):
    """Result, wall and CPU seconds, and the peak growth of resident memory (sampled every 5 ms).

    Resident memory rather than tracemalloc: tracing every allocation slows a search made of many
    small array operations far more than one made of a few large ones, so it would skew the seconds.
    """
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back first, or its reuse would not show
    base, peak, done = resident_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], resident_bytes() - base)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    watcher.join()
    return result, seconds, cpu_seconds, max(peak[0], resident_bytes() - base)


def sampled_agreement(hashes: np.ndarray, pairs: np.ndarray, radius: int, rows: int, seed: int = 0) -> bool:
    """Do the pairs hold exactly the brute-force neighbours of some rows (half of them with neighbours)?"""
    rng = np.random.default_rng(seed)
    n = len(hashes)
    paired = np.unique(pairs.ravel()) if len(pairs) else np.zeros(0, dtype=np.int64)
    picks = rng.choice(n, rows // 2, replace=False)
    if len(paired):
        picks = np.concatenate([picks, rng.choice(paired, min(rows - len(picks), len(paired)), replace=False)])
    both = np.concatenate([pairs, pairs[:, ::-1]]) if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    both = both[np.argsort(both[:, 0], kind="stable")]
    bounds = np.searchsorted(both[:, 0], np.stack([picks, picks + 1]))
    for row, lo, hi in zip(picks, *bounds):
        brute = np.flatnonzero(popcount(hashes ^ hashes[row]) <= radius)
        if not np.array_equal(np.sort(both[lo:hi, 1]), brute[brute != row]):
            return False
    return True


def base_near_pairs(ref: str):
    """``near_pairs`` of ``filters.dedup`` as it was at git revision ``ref``: before and after in one run.
    The ``filters`` package of that revision is loaded under another name (``dedup_base``), so its
    relative imports find its own modules."""
    import importlib
    import io
    import subprocess
    import tarfile
    import tempfile

    archive = subprocess.run(["git", "archive", ref, "filters"], cwd=Path(__file__).resolve().parents[1],
                             check=True, capture_output=True).stdout
    folder = Path(tempfile.mkdtemp())
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "filters").rename(folder / "dedup_base")
    for name in [m for m in sys.modules if m == "dedup_base" or m.startswith("dedup_base.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("dedup_base.dedup").near_pairs
    finally:
        sys.path.remove(str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hashes", choices=("planted", "real"), default="planted")
    parser.add_argument("--sizes", help="comma-separated N; 'real' is the real hashes as they are "
                                        "(default: 10000,100000,1000000 planted; real,1000000,10000000 real)")
    parser.add_argument("--radius", type=int, default=4)
    parser.add_argument("--flips", default="4,10", help="bits flipped per resampled row, lo,hi")
    parser.add_argument("--brute-max", type=int, default=100000)
    parser.add_argument("--old-max", type=int, default=1000000)
    parser.add_argument("--check-rows", type=int, default=200)
    parser.add_argument("--real-dir", type=Path, default=INPUTS,
                        help=f"folder of phashes-*.npy for --hashes real (default: the committed base, {INPUTS}; "
                             f"real_phashes.py writes to {DATA})")
    parser.add_argument("--base", help="git revision whose near_pairs runs beside this one at every N (before/after)")
    args = parser.parse_args()
    base = base_near_pairs(args.base) if args.base else None
    flips = tuple(int(v) for v in args.flips.split(","))
    if args.hashes == "real":
        real, names = real_hashes(args.real_dir)
        print(f"real pHashes: {len(real):,} ({'; '.join(names)}); resampled rows flip {flips[0]}-{flips[1]} bits")
    sizes = args.sizes or ("real,1000000,10000000" if args.hashes == "real" else "10000,100000,1000000")
    print(f"radius {args.radius}; seconds wall (cpu); MiB = peak resident memory growth; old = the index before issue 15")
    print(f"{'N':>11} {'pairs':>11} {'rows w/ nb':>10} {'new s':>15} {'MiB':>7} {'old s':>15} {'brute s':>8} {'agrees':>14}")
    for size in sizes.split(","):
        if args.hashes == "planted":
            hashes = planted(int(size), args.radius)
        else:
            hashes = real if size == "real" else resample(real, int(size), flips)
        n = len(hashes)
        pairs, t_new, c_new, m_new = measure(near_pairs, hashes, args.radius)
        share = len(np.unique(pairs.ravel())) / n if len(pairs) else 0.0
        old_cols = "-"
        if n <= args.old_max:
            old, t_old, c_old, _ = measure(old_near_pairs, hashes, args.radius)
            old_cols = f"{t_old:.2f} ({c_old:.2f})" + ("" if np.array_equal(old, pairs) else " DIFFERS")
        if n <= args.brute_max:
            brute, t_brute, _, _ = measure(brute_force_pairs, hashes, args.radius)
            brute_pairs = brute[np.lexsort((brute[:, 1], brute[:, 0]))]
            agrees, brute_col = ("all pairs" if np.array_equal(brute_pairs, pairs) else "NO"), f"{t_brute:.2f}"
        else:
            ok = sampled_agreement(hashes, pairs, args.radius, args.check_rows)
            agrees, brute_col = (f"{args.check_rows} rows" if ok else "NO"), "-"
        base_cols = ""
        if base is not None:
            before, t_base, c_base, m_base = measure(base, hashes, args.radius)
            same = "same pairs" if np.array_equal(before, pairs) else "DIFFERENT PAIRS"
            base_cols = f"  {args.base}: {t_base:.2f} s ({c_base:.2f}), {m_base / 2**20:.0f} MiB, {same}"
        print(f"{n:>11,} {len(pairs):>11,} {share:>10.1%} {f'{t_new:.2f} ({c_new:.2f})':>15} {m_new / 2**20:>7.1f} "
              f"{old_cols:>15} {brute_col:>8} {agrees:>14}{base_cols}", flush=True)


if __name__ == "__main__":
    main()
