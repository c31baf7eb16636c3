"""``vinci select``: band and spread filter, balanced per language, written as a build folder with scores."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from training.selection import Candidate, choose, parse_band


def candidate(lang: str, rewards: list[float], i: int = 0) -> Candidate:
    return Candidate({"lang": lang, "id": f"{lang}{i}"}, rewards, rewards)


def test_band_spread_and_balance():
    pool = [
        candidate("svg", [1.0, 1.0, 1.0, 1.0], 0),   # solved
        candidate("svg", [0.0, 0.0, 0.0, 0.0], 1),   # hopeless
        candidate("svg", [0.5, 0.5, 0.5, 0.5], 2),   # in band, but no spread: no GRPO signal
        candidate("svg", [0.2, 0.8, 0.4, 0.6], 3),
        candidate("svg", [0.3, 0.5, 0.4, 0.4], 4),
        candidate("svg", [0.1, 0.9, 0.2, 0.8], 5),
        candidate("smiles", [0.4, 0.6, 0.5, 0.5], 0),
        candidate("python", [0.0, 0.1, 0.0, 0.1], 0),  # below the band
    ]
    selection = choose(pool, (0.2, 0.8))
    assert selection.report == {"python": {"candidates": 1, "in_band": 0, "kept": 0},
                                "smiles": {"candidates": 1, "in_band": 1, "kept": 1},
                                "svg": {"candidates": 6, "in_band": 3, "kept": 1}}
    assert {c.row["id"] for c in selection.kept} == {"smiles0", "svg5"}  # svg5: the widest spread
    assert len(choose(pool, (0.2, 0.8), per_lang=2).kept) == 3


@pytest.mark.parametrize("text", ["0.8:0.2", "a:b", "0.5", "-1:0.5"])
def test_bad_bands_are_refused(text):
    with pytest.raises(ValueError, match="LO:HI"):
        parse_band(text)


@pytest.mark.renders
def test_select_cli_writes_a_scored_build_folder(demo_corpus, tmp_path):
    """The tiny random model scores 0 everywhere: the band 0:1 with no spread needed keeps one prompt per language."""
    import datasets

    out = tmp_path / "curated"
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "select", "--data", demo_corpus, "--model", "tiny:qwen2-vl",
                           "-k", "2", "--band", "0:1", "--min-std", "-1", "--per-lang", "1", "--max-new-tokens", "8",
                           "--encoder", "tiny:dinov2", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    ds = datasets.load_dataset(str(out), split="virl")
    assert sorted(ds["lang"]) == ["python", "smiles", "svg"]
    assert all(0.0 <= r <= 1.0 for r in ds["select_reward"]) and len(ds["select_reward_std"]) == 3
    report = json.loads((out / "stats.json").read_text())["report"]
    assert report["smiles"] == {"candidates": 3, "in_band": 3, "kept": 1}
    from training.data import grpo_dataset

    assert len(grpo_dataset(str(out), "virl")) == 3


@pytest.mark.renders
def test_select_refuses_a_bad_band_in_one_line(demo_corpus, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "select", "--data", demo_corpus, "--model", "tiny:qwen2-vl",
                           "--band", "0.9:0.1", "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [done.stderr.strip()] and "LO:HI" in done.stderr
