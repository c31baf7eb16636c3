"""ChemDraw image-to-SMILES: exact match and Tanimoto on fixed pairs, against MolScribe's canonicalisation
and RDKit's legacy Morgan fingerprints (``expected.json`` says how the numbers were obtained)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.benchmarks.base import BenchmarkError
from training.benchmarks.chemdraw import ChemDraw, compare
from training.benchmarks.runner import run_benchmark

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks" / "chemdraw"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["pairs"]
PAIRS = json.loads((FIXTURES / "answers.json").read_text())


def test_every_pair_agrees_with_the_reference_evaluators():
    gold = {s.id: s.reference for s in ChemDraw().load(str(FIXTURES))}
    for kind, answers in PAIRS.items():
        for image_id, answer in answers.items():
            ours, expected = compare(answer, gold[image_id]), EXPECTED[f"{kind}/{image_id}"]
            for metric in ("exact", "exact_no_cistrans", "tanimoto"):
                assert ours[metric] == pytest.approx(expected[metric], abs=1e-12), (kind, image_id, metric)


def test_identical_and_respelled_answers_score_the_maximum():
    gold = {s.id: s.reference for s in ChemDraw().load(str(FIXTURES))}
    for kind in ("identical", "respelled"):
        for image_id, answer in PAIRS[kind].items():
            assert compare(answer, gold[image_id]) == {"valid": 1.0, "exact": 1.0, "exact_no_cistrans": 1.0, "tanimoto": 1.0}


def test_stereo_changes_only_exact_match():
    gold = {s.id: s.reference for s in ChemDraw().load(str(FIXTURES))}
    flipped = compare(PAIRS["stereo"]["alanine"], gold["alanine"])
    assert flipped["exact"] == 0.0 and flipped["tanimoto"] == 1.0
    cis = compare(PAIRS["stereo"]["stilbene"], gold["stilbene"])
    assert cis["exact"] == 0.0 and cis["exact_no_cistrans"] == 1.0 and cis["tanimoto"] == 1.0


@pytest.mark.renders
@pytest.mark.parametrize("kind", ["identical", "atom_changed", "invalid"])
def test_outputs_file_to_table(tmp_path, kind):
    report = run_benchmark("chemdraw", str(FIXTURES), str(tmp_path / "out"), outputs=str(FIXTURES / f"outputs_{kind}.jsonl"))
    expected = [EXPECTED[f"{kind}/{k}"] for k in PAIRS[kind]]
    assert report["scores"]["Tanimoto"] == pytest.approx(100 * sum(e["tanimoto"] for e in expected) / 4)
    assert report["scores"]["Exact"] == pytest.approx(100 * sum(e["exact"] for e in expected) / 4)
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert all((r["error"] is None) == (kind != "invalid") for r in rows)


def test_bad_data_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "x.csv").write_text("image_id,SMILES\na,C\n")
    with pytest.raises(BenchmarkError, match="x.csv: missing column"):
        ChemDraw().load(str(tmp_path / "x.csv"))
    (tmp_path / "x.csv").write_text("image_id,file_path,SMILES\na,../../etc/passwd,C\n")
    with pytest.raises(BenchmarkError, match=r"x.csv:2: picture"):
        ChemDraw().load(str(tmp_path / "x.csv"))
