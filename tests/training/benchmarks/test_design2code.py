"""Design2Code on real testset pages: fixed (page, answer) pairs scored against the values Design2Code's own
evaluator gave for the same pairs (``official.json`` says how they were obtained), end to end through the
sandbox's HTML pool; the layouts; the CLI's way in."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.benchmarks.design2code import Design2Code
from training.benchmarks.runner import run_benchmark

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "design2code"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks" / "design2code"
OFFICIAL = json.loads((FIXTURES / "official.json").read_text())
ANSWERS = sorted((FIXTURES / "answers").glob("*.html"))
BLOCK_TOLERANCE = 1e-9
COLOR_TOLERANCE = 2e-4  # CIEDE2000 through scikit-image here, colormath there
CLIP_TOLERANCE = 1e-6


def tiny_clip(folder: Path) -> str:
    """The tiny random CLIP the official run used (its config and seed are in official.json)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    spec = OFFICIAL["tiny_clip"]
    torch.manual_seed(spec["seed"])
    config = CLIPConfig(text_config=spec["text_config"], vision_config=spec["vision_config"], projection_dim=spec["projection_dim"])
    CLIPModel(config).eval().save_pretrained(str(folder))
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from filters.render.pool import RenderService

    bench = Design2Code(clip_model=tiny_clip(tmp_path_factory.mktemp("clip")))
    gold = {s.id: s for s in bench.load(str(REAL))}
    with RenderService(workers=2, timeout_s=30) as service:
        results = bench.score([gold[a.stem.split("__")[0]] for a in ANSWERS], [a.read_text() for a in ANSWERS], service)
    return bench, {a.stem: (metrics, error) for a, (metrics, _png, error) in zip(ANSWERS, results)}


def test_the_testset_folder_is_read_with_its_placeholder():
    samples = Design2Code().load(str(REAL))
    assert [s.id for s in samples] == ["1002", "1009", "4405", "10414", "13302"]
    assert samples[0].meta["files"]["rick.jpg"] == (REAL / "rick.jpg").read_bytes()
    assert samples[0].image == (REAL / "1002.png").read_bytes()


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_every_pair_agrees_with_the_official_evaluator(scored):
    bench, by_pair = scored
    assert set(by_pair) == set(OFFICIAL["pairs"])
    for key, expected in OFFICIAL["pairs"].items():
        metrics, error = by_pair[key]
        assert error is None, key
        for name in ("block", "text", "position"):
            assert metrics[name] == pytest.approx(expected[name], abs=BLOCK_TOLERANCE), (key, name)
        assert metrics["color"] == pytest.approx(expected["color"], abs=COLOR_TOLERANCE), key
        if "clip" in metrics:  # OpenCV (the evaluator's inpainting) installed
            assert metrics["clip"] == pytest.approx(expected["clip"], abs=CLIP_TOLERANCE), key
            assert metrics["score"] == pytest.approx(expected["score"], abs=COLOR_TOLERANCE), key
        else:
            assert set(bench.not_computed) == {"CLIP", "Score"} and "OpenCV" in bench.not_computed["CLIP"]


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_identical_answers_score_the_maximum_and_each_change_costs_its_own_measure(scored):
    _, by_pair = scored
    for key, (metrics, _) in by_pair.items():
        if key.endswith("__identical"):
            assert all(v == pytest.approx(1.0, abs=1e-6) for v in metrics.values()), key
    assert by_pair["4405__color"][0]["color"] < 0.95 and by_pair["13302__color"][0]["color"] < 0.8
    assert by_pair["13302__label"][0]["text"] < 0.97
    assert by_pair["4405__removed"][0]["block"] < 0.9 and by_pair["13302__removed"][0]["block"] < 0.9
    assert by_pair["4405__moved"][0]["position"] < 0.9 and by_pair["13302__moved"][0]["position"] < 0.97


def test_the_hub_parquet_layout_is_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    pages = [(REAL / f"{n}.html").read_text() for n in ("4405", "13302")]
    shots = [{"bytes": (REAL / f"{n}.png").read_bytes(), "path": None} for n in ("4405", "13302")]
    pq.write_table(pa.table({"image": shots, "text": pages}), str(tmp_path / "data" / "train-00000-of-00001.parquet"))
    samples = Design2Code().load(str(tmp_path))
    assert [s.id for s in samples] == ["0", "1"] and samples[1].reference == pages[1]
    assert samples[0].image == shots[0]["bytes"]


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_outputs_file_to_table(tmp_path):
    """An answer without an HTML block scores 0; the table names what this machine cannot compute."""
    outputs = tmp_path / "out.jsonl"
    page = (REAL / "4405.html").read_text()
    outputs.write_text(json.dumps({"id": "4405", "completion": f"```html\n{page}\n```"}) + "\n"
                       + json.dumps({"id": "13302", "completion": "no code here"}) + "\n")
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("4405.html", "4405.png", "13302.html", "13302.png", "rick.jpg"):
        (folder / name).write_bytes((REAL / name).read_bytes())
    report = run_benchmark("design2code", str(folder), str(tmp_path / "o"), outputs=str(outputs))
    assert report["n"] == 2
    assert report["scores"]["Block-Match"] == pytest.approx(50.0) and report["scores"]["Text"] == pytest.approx(50.0)
    rows = [json.loads(line) for line in (tmp_path / "o" / "samples.jsonl").read_text().splitlines()]
    assert rows[1]["error"] == "no_block" and rows[1]["block"] == 0.0
    table = (tmp_path / "o" / "table.md").read_text()
    assert "| Block-Match | Text | Position | Color |" in table
    assert (tmp_path / "o" / "worst.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_unusable_answers_score_zero_with_the_reason(tmp_path):
    """No page, a page too long for the repetition check, a page nested past Python's stack: each scores 0
    and says why; nothing is drawn for them but the ground truth."""
    class Service:
        def render_many(self, jobs):
            from types import SimpleNamespace

            return [SimpleNamespace(ok=True, png=(REAL / "4405.png").read_bytes()) for _ in jobs]

    bench = Design2Code(clip_model=str(tmp_path / "none"))
    sample = next(s for s in bench.load(str(REAL)) if s.id == "4405")
    results = bench.score([sample] * 3, [None, "x" * 200_001, "<div>" * 5000], Service())
    assert [error for _m, _p, error in results] == ["no acceptable answer", "answer longer than 200,000 characters",
                                                    "answer nested too deeply to read"]
    assert all(not any(m.values()) for m, _p, _e in results)
