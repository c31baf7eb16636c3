"""``vinci eval --benchmark``: outputs files read as untrusted input, both ways in from the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.benchmarks.base import BenchmarkError
from training.benchmarks.runner import read_outputs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks"


@pytest.mark.parametrize("content, message", [
    ('{"id": "a", "completion": "x"}\nnot json\n', r"out.jsonl:2: not JSON"),
    ('{"id": "a"}\n', r"out.jsonl:1: expected"),
    ('{"id": "zz", "completion": "x"}\n', r"out.jsonl:1: id 'zz' is not a sample"),
    ('{"id": "a", "completion": "x"}\n{"id": "a", "completion": "y"}\n', r"out.jsonl:2: id 'a' appears twice"),
])
def test_a_bad_outputs_line_is_named(tmp_path, content, message):
    (tmp_path / "out.jsonl").write_text(content)
    with pytest.raises(BenchmarkError, match=message):
        read_outputs(str(tmp_path / "out.jsonl"), {"a", "b"})


def test_missing_ids_are_simply_unanswered(tmp_path):
    (tmp_path / "out.jsonl").write_text('{"id": "a", "completion": "x"}\n\n')
    assert read_outputs(str(tmp_path / "out.jsonl"), {"a", "b"}) == {"a": "x"}


def vinci(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


@pytest.mark.renders
def test_cli_scores_an_outputs_file(tmp_path):
    done = vinci("eval", "--benchmark", "chemdraw", "--data", str(FIXTURES / "chemdraw"),
                 "--outputs", str(FIXTURES / "chemdraw" / "outputs_identical.jsonl"), "--output", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert "| Valid | Exact | Exact (no cis/trans) | Tanimoto |" in done.stdout and "| 100.0 | 100.0 | 100.0 | 100.0 |" in done.stdout
    assert json.loads((tmp_path / "o" / "scores.json").read_text())["scores"]["Tanimoto"] == 100.0


@pytest.mark.renders
@pytest.mark.parametrize("args, message", [
    (["--benchmark", "nope", "--outputs", "x.jsonl"], "no benchmark 'nope'; known: chartmimic, chemdraw, design2code, image2latex, unisvg"),
    (["--benchmark", "chemdraw"], "give exactly one of --model ID and --outputs FILE.jsonl"),
    (["--outputs", "x.jsonl"], "--outputs scores answers to a benchmark: give --benchmark NAME"),
])
def test_cli_errors_are_one_line(tmp_path, args, message):
    done = vinci("eval", "--data", str(FIXTURES / "chemdraw"), "--output", str(tmp_path / "o"), *args)
    assert done.returncode == 1 and done.stderr.strip() == f"error: {message}"


@pytest.mark.renders
@pytest.mark.parametrize("benchmark, data, first", [
    ("chemdraw", "chemdraw", ["caffeine", "aspirin"]), ("chartmimic", "chartmimic/direct_600", ["3d_1", "bar_1"]),
    ("unisvg", "unisvg/test.json", ["icon_house.png", "icon_badge.png"]),
    ("design2code", "../real/design2code", ["1002", "1009"]), ("image2latex", "image2latex", ["line", "bars"])])
def test_cli_generates_with_a_tiny_model(tmp_path, benchmark, data, first):
    """The --model way in: a random tiny Qwen2-VL answers the pictures; its answers are scored (0 here)."""
    done = vinci("eval", "--benchmark", benchmark, "--data", str(FIXTURES / data), "--model", "tiny:qwen2-vl",
                 "-n", "2", "--max-new-tokens", "8", "--output", str(tmp_path / "o"),
                 env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "o" / "samples.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == first and all(isinstance(r["completion"], str) for r in rows)
    assert (tmp_path / "o" / "worst.png").exists() and (tmp_path / "o" / "table.md").exists()
