"""UniSVG image-to-SVG: execution and SSIM on fixed pairs, against the steps of UniSVG's evaluation.py
(``official.json`` says how the numbers were obtained). The official script rasterises the answer with
cairosvg at 336 x 336, as the sandbox does here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.benchmarks.unisvg import UniSVG
from training.benchmarks.runner import run_benchmark

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks" / "unisvg"
OFFICIAL = json.loads((FIXTURES / "official.json").read_text())["pairs"]
PAIRS = json.loads((FIXTURES / "answers.json").read_text())
SSIM_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def scored():
    from filters.render.pool import RenderService

    bench = UniSVG()
    gold = {s.id: s for s in bench.load(str(FIXTURES))}
    keys = [(kind, k) for kind, by in PAIRS.items() for k in by]
    with RenderService(timeout_s=20) as service:
        results = bench.score([gold[k] for _, k in keys], [PAIRS[kind][k] for kind, k in keys], service)
    return {f"{kind}/{k}": metrics for (kind, k), (metrics, _png, _err) in zip(keys, results)}


def test_only_isvgen_items_are_read():
    assert [s.id for s in UniSVG().load(str(FIXTURES))] == ["icon_house.png", "icon_badge.png", "icon_bars.png"]


@pytest.mark.renders
def test_every_pair_agrees_with_the_official_steps(scored):
    for key, expected in OFFICIAL.items():
        assert scored[key]["executed"] == expected["executed"], key
        if expected["executed"]:
            assert scored[key]["ssim"] == pytest.approx(expected["ssim"], abs=SSIM_TOLERANCE), key


@pytest.mark.renders
def test_identical_answers_score_the_maximum_and_changes_lower_ssim(scored):
    for key, metrics in scored.items():
        if key.startswith("identical/"):
            assert metrics["ssim"] == pytest.approx(1.0, abs=1e-9)
        elif metrics["executed"]:
            assert metrics["ssim"] < 0.99, key


@pytest.mark.renders
def test_outputs_file_to_table(tmp_path):
    report = run_benchmark("unisvg", str(FIXTURES / "test.json"), str(tmp_path / "out"),
                           outputs=str(FIXTURES / "outputs_invalid.jsonl"))
    assert report["scores"] == {"Exec.Rate": 0.0, "SSIM": 0.0}
    assert set(report["not_computed"]) == {"LPIPS", "CLIP", "ISVGEN score"}
