"""ChartMimic's low-level metrics on fixed (ground truth, answer) pairs, against its own evaluator.

``official.json`` holds the F1 scores ChartMimic's evaluators (chart2code/utils/evaluator/*, commit
c9e149c of github.com/ChartMimic/ChartMimic, run once by hand with its pinned matplotlib 3.8.4,
colormath 3.0.0, networkx 3.2.1, squarify 0.4.3, matplotlib-venn 0.11.10) gave for the pairs under
``answers/`` (``GOLD__CHANGE.py``) against ``direct_600/GOLD.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.benchmarks.chartmimic import ChartMimic, TraceError, parse_trace
from training.benchmarks.runner import run_benchmark

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks" / "chartmimic"
OFFICIAL = json.loads((FIXTURES / "official.json").read_text())["pairs"]
COLOR_TOLERANCE = 1e-3  # CIEDE2000 through scikit-image here, through colormath officially


@pytest.fixture(scope="module")
def service():
    from filters.render.pool import RenderService

    with RenderService(workers=2, timeout_s=30) as svc:
        yield svc


@pytest.fixture(scope="module")
def scored(service):
    bench = ChartMimic()
    gold = {s.id: s for s in bench.load(str(FIXTURES / "direct_600"))}
    answers = sorted((FIXTURES / "answers").glob("*.py"))
    results = bench.score([gold[a.stem.split("__")[0]] for a in answers], [a.read_text() for a in answers], service)
    return {a.stem: metrics for a, (metrics, _png, _error) in zip(answers, results)}


@pytest.mark.renders
def test_every_pair_agrees_with_the_official_evaluator(scored):
    assert set(scored) == set(OFFICIAL)
    for pair, expected in OFFICIAL.items():
        for metric in ("text", "layout", "type"):
            assert scored[pair][metric] == pytest.approx(expected[metric], abs=1e-9), (pair, metric)
        assert scored[pair]["color"] == pytest.approx(expected["color"], abs=COLOR_TOLERANCE), pair


@pytest.mark.renders
def test_identical_answers_score_the_maximum(scored):
    for pair in [p for p in scored if p.endswith("__identical")]:
        assert scored[pair] == {"text": 1.0, "layout": 1.0, "type": 1.0, "color": 1.0, "low_level": 1.0, "executed": 1.0}


@pytest.mark.renders
@pytest.mark.parametrize("pair, lowered", [
    ("bar_1__color", {"color"}), ("line_1__color", {"color"}), ("pie_1__color", {"color"}),
    ("3d_1__color", {"color"}), ("graph_1__color", {"color"}), ("treemap_1__color", {"color"}),
    ("bar_1__label", {"text"}), ("pie_1__label", {"text"}), ("graph_1__label", {"text"}),
    ("line_1__layout", {"layout"}),
    ("bar_1__type", {"type", "color"}),  # bars drawn as lines: their colours move to another drawing function
    ("bar_1__removed", {"text", "type", "color"}), ("line_1__removed", {"type", "color"}),
])
def test_each_change_lowers_the_metrics_it_touches(scored, pair, lowered):
    for metric in ("text", "layout", "type", "color"):
        assert (scored[pair][metric] < 1.0) == (metric in lowered), (pair, metric)


@pytest.mark.renders
def test_a_failing_answer_scores_zero(service):
    bench = ChartMimic()
    gold = bench.load(str(FIXTURES / "direct_600"))[:1]
    (metrics, png, error), = bench.score(gold, ["import matplotlib.pyplot as plt\nraise ValueError('no')\n"], service)
    assert png is None and error.startswith("runtime: ValueError") and set(metrics.values()) == {0.0}


def trace(**changes) -> str:
    return json.dumps({"texts": [], "colors": [], "layout": [], "axes": 1, "types": {}, **changes})


def test_a_wellformed_trace_is_read():
    assert parse_trace(trace(texts=["a"], colors=["_axes/bar--#FF0000"], layout=[[1, 1, 0, 0, 0, 0]], types={"x": 2}))


@pytest.mark.parametrize("text", [None, "[]", "{", trace(texts=[1]), trace(colors=["#FF0000"]), trace(layout=[[1, 2]]),
                                  trace(types={"x": -1}), trace(texts=["a"] * 3000), trace(axes="1"), trace(axes=-1),
                                  "[" * 100_000, trace(axes=1).replace('"axes": 1', '"axes": ' + "9" * 5000), trace(colors=["_axes/bar--#ZZ0000"]),
                                  trace(colors=["_axes/bar--#"])])
def test_a_malformed_trace_is_refused(text):
    with pytest.raises(TraceError):
        parse_trace(text)


@pytest.mark.renders
def test_outputs_file_to_table(tmp_path, service):
    outputs = tmp_path / "outputs.jsonl"
    answers = {a.stem.split("__")[0]: a.read_text() for a in sorted((FIXTURES / "answers").glob("[blp]*__color.py"))}
    outputs.write_text("".join(json.dumps({"id": k, "completion": f"Here:\n```python\n{v}\n```"}) + "\n"
                               for k, v in answers.items()))
    report = run_benchmark("chartmimic", str(FIXTURES / "direct_600"), str(tmp_path / "out"), outputs=str(outputs),
                           service=service)
    expected_color = 100 * sum(OFFICIAL[f"{k}__color"]["color"] for k in answers) / 6  # 3 of 6 samples unanswered
    assert report["scores"]["Color"] == pytest.approx(expected_color, abs=0.1)
    assert report["scores"]["Exec.Rate"] == 50.0 and report["scores"]["Text"] == 50.0
    assert report["not_computed"] == {"High-Level": "needs a GPT-4o judge"}
    table = (tmp_path / "out" / "table.md").read_text()
    assert "| Exec.Rate | Text | Layout | Type | Color | Low-Level | High-Level |" in table and "n/c" in table
    rows = {r["id"]: r for r in map(json.loads, (tmp_path / "out" / "samples.jsonl").read_text().splitlines())}
    assert sorted(rows) == ["3d_1", "bar_1", "graph_1", "line_1", "pie_1", "treemap_1"]
    assert all((rows[k]["error"] is None) == (k in answers) for k in rows)
    assert rows["3d_1"]["error"] == "no_block" and rows["3d_1"]["low_level"] == 0.0
    from PIL import Image

    assert Image.open(tmp_path / "out" / "worst.png").size[0] == 620


@pytest.mark.renders
def test_a_reference_that_fails_is_left_out_and_named(tmp_path, service):
    folder = tmp_path / "direct_600"
    folder.mkdir()
    for name in ("bar_1", "line_1"):
        (folder / f"{name}.py").write_text((FIXTURES / "direct_600" / f"{name}.py").read_text())
        (folder / f"{name}.png").write_bytes((FIXTURES / "direct_600" / f"{name}.png").read_bytes())
    (folder / "line_1.py").write_text("import matplotlib.pyplot as plt\nimport no_such_module\n")
    outputs = tmp_path / "o.jsonl"
    outputs.write_text(json.dumps({"id": "bar_1", "completion": "```python\n" + (folder / "bar_1.py").read_text() + "```"}) + "\n")
    report = run_benchmark("chartmimic", str(folder), str(tmp_path / "out"), outputs=str(outputs), service=service)
    assert report["n"] == 1 and report["scores"]["Low-Level"] == 100.0
    assert list(report["left_out"]) == ["line_1"] and "ModuleNotFoundError" in report["left_out"]["line_1"]


def test_hub_rows_are_read_direct_mimic_only(tmp_path):
    """The Hub layout (as ``tests/sources/hub_fixtures.py`` builds it): Image cells, a Task column."""
    import datasets

    code = (FIXTURES / "direct_600" / "bar_1.py").read_text()
    png = (FIXTURES / "direct_600" / "bar_1.png").read_bytes()
    rows = {"ExampleID": ["bar_1", "bar_1_c"], "Task": ["Direct Mimic", "Customized Mimic"],
            "Instruction": ["Redraw.", "Redraw with data."], "InputFigurePreview": [{"bytes": png}] * 2,
            "GroundTruthFigureCode": [code, code], "GroundTruthFigurePreview": [{"bytes": png}] * 2}
    features = datasets.Features({k: datasets.Image() if "Preview" in k else datasets.Value("string") for k in rows})
    path = tmp_path / "test-00000-of-00001.parquet"
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))
    samples = ChartMimic().load(str(path))
    assert [s.id for s in samples] == ["bar_1"] and samples[0].image == png and samples[0].reference == code


# A model answer runs in the same process as its tracer, so it can write any trace on its reply pipe.
FORGED_TRACE = r"""
import json, os, struct, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
rows = b''.join(b'\x00' + bytes([x % 256 for x in range(48)]) for _ in range(16))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 16, 16, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
header = json.dumps({"ok": True, "trace": TRACE}).encode()
frame = struct.pack('<II', len(header), len(png)) + header + png
for fd in [int(f) for f in os.listdir('/proc/self/fd') if int(f) > 2]:
    try:
        os.write(fd, frame)
    except OSError:
        pass
os._exit(0)
"""


def test_a_forged_trace_costs_only_its_answer(service):
    """Before: the deep one raised RecursionError, the long integer ValueError and the bad colour
    ValueError out of ``score`` -- one answer ended the whole evaluation. Now each scores zero with a
    ``trace:`` reason, and an honest answer beside them scores as it does alone."""
    bench = ChartMimic()
    gold = bench.load(str(FIXTURES / "direct_600"))[:1]
    forged = ['"[" * 100_000', repr(trace(axes=1).replace('"axes": 1', '"axes": ' + "9" * 5000)), repr(trace(colors=["_axes/bar--#ZZ0000"]))]
    answers = [FORGED_TRACE.replace("TRACE", t) for t in forged] + [gold[0].reference]
    results = bench.score(gold * len(answers), answers, service)
    for metrics, _png, error in results[:3]:
        assert error.startswith("trace: ") and set(metrics.values()) == {0.0}, error
    alone, = bench.score(gold, [gold[0].reference], service)
    assert results[3][2] is None and results[3][0] == alone[0]
