"""The real-hash benchmark runs on a fresh clone: its base is committed, nothing is rendered first."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from benchmarks.dedup_scaling import DATA, INPUTS, real_hashes, resample
from filters.dedup import popcount
from tests.pipelines.conftest import ROOT


def test_the_committed_base_is_read_by_default():
    hashes, names = real_hashes()
    assert hashes.dtype == np.uint64 and len(hashes) >= 10_000 and len(np.unique(hashes)) > 0.9 * len(hashes)
    assert {n.split(":")[0].split("-")[2] for n in names} == {"svg", "smiles"}
    assert all((INPUTS / n.split(":")[0]).is_file() for n in names) and INPUTS != DATA
    grown = resample(hashes, 50_000, (4, 10))
    nearest = np.array([popcount(hashes ^ row).min() for row in grown[:200]])
    assert len(grown) == 50_000 and nearest.max() <= 10 and (nearest > 0).mean() > 0.9  # real rows, 4-10 bits moved


def test_the_benchmark_runs_from_a_clean_data_folder(tmp_path):
    done = subprocess.run([sys.executable, "benchmarks/dedup_scaling.py", "--hashes", "real", "--sizes", "real,20000",
                           "--old-max", "0", "--brute-max", "20000"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "real pHashes:" in done.stdout and "all pairs" in done.stdout, done.stdout
