"""The learning benchmark's measures: own-vs-shuffled similarity and the bootstrap bound on the gap."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import learning_curve as lc  # noqa: E402
from training.answers import judge  # noqa: E402
from training.eval import Scored  # noqa: E402

MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "C1CCCCC1", "OC(=O)CCC(=O)O"]


def scored_answers(rows, answers):
    return [Scored(row, f"```smiles\n{a}\n```", judge(f"```smiles\n{a}\n```", "smiles"), b"png", None, {}) for row, a in zip(rows, answers)]


def test_reading_the_image_shows_as_a_gap_and_copying_does_not():
    rows = [{"code": m} for m in MOLECULES]
    own, shuffled = lc.own_and_shuffled("smiles", rows, scored_answers(rows, MOLECULES))
    assert own == [1.0] * 6 and max(shuffled) < 0.5
    assert lc.bootstrap_low([a - b for a, b in zip(own, shuffled)]) > 0.4
    copied = scored_answers(rows, [MOLECULES[2]] * 6)
    own, shuffled = lc.own_and_shuffled("smiles", rows, copied)
    assert lc.bootstrap_low([a - b for a, b in zip(own, shuffled)]) < 0


def test_bootstrap_low_bounds_the_mean_from_below():
    diffs = [0.1, 0.2, 0.3, 0.0, 0.15, 0.25] * 5
    assert 0.0 < lc.bootstrap_low(diffs) < sum(diffs) / len(diffs)
    assert lc.bootstrap_low([]) == 0.0
