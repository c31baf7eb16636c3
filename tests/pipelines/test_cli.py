"""What a user sees: one line per problem, no traceback, nothing silently accepted or overwritten."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

from tests.conftest import EXAMPLES
from tests.pipelines.conftest import ROOT, TINY


def vinci(*args, cwd=ROOT, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def one_line_error(run: subprocess.CompletedProcess, *needles: str) -> None:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, run.stderr
    assert all(n in errors[0] for n in needles), errors[0]


def test_render_output_problems_are_one_line(tmp_path):
    badge, aspirin = EXAMPLES / "badge.svg", EXAMPLES / "aspirin.smi"
    (tmp_path / "taken.png").write_bytes(b"x")
    one_line_error(vinci("render", badge, aspirin, "-o", tmp_path / "taken.png"), "taken.png", "not a folder")
    one_line_error(vinci("render", badge, "-o", "/proc/no/such/x.png"), "/proc/no/such")
    twin = tmp_path / "other" / "badge.smi"
    twin.parent.mkdir()
    twin.write_text("CCO\n")
    out = tmp_path / "out"
    one_line_error(vinci("render", badge, twin, "-o", f"{out}/"), "badge.svg", "badge.smi", "badge.png")
    assert not out.exists()
    (tmp_path / "folder").mkdir()
    run = vinci("render", badge, "-o", tmp_path / "folder")
    assert run.returncode == 0 and (tmp_path / "folder" / "badge.png").stat().st_size > 0


def test_render_takes_a_datasets_conventions(tmp_path):
    from PIL import Image

    badge = EXAMPLES / "badge.svg"
    assert vinci("render", badge, "--render", "long_side=200", "-o", tmp_path / "b.png").returncode == 0
    assert max(Image.open(tmp_path / "b.png").size) == 200
    one_line_error(vinci("render", badge, "--render", "viewport_width=1280", "-o", tmp_path / "c.png"),
                   "unsupported", "viewport_width", "long_side")
    one_line_error(vinci("render", badge, "--render", "long_side", "-o", tmp_path / "c.png"), "NAME=VALUE")


def test_harvest_refuses_unknown_formats_and_options(tmp_path):
    one_line_error(vinci("harvest", "synthetic.svg", "-n", "2", "-o", tmp_path / "x.csv"), "x.csv", ".parquet or .jsonl")
    assert not (tmp_path / "x.csv").exists()
    one_line_error(vinci("harvest", f"dir:{EXAMPLES}", "--option", "foo=bar", "-o", tmp_path / "x.parquet"),
                   "unknown option 'foo'", "takes no options")
    one_line_error(vinci("harvest", "hub:org/x", "--option", "code_colum=c", "-o", tmp_path / "x.parquet"),
                   "did you mean 'code_column'")


def test_push_offline_is_one_line(reference, tmp_path):
    _, out = reference
    run = vinci("push", out, "--repo-id", "org/corpus", env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": "hf_x"},
                timeout=120)
    one_line_error(run, "push to org/corpus failed")


def write_manifest(tmp_path, **changes):
    path = tmp_path / f"m{len(list(tmp_path.glob('m*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path


def test_plan_checks_dir_paths_and_options(tmp_path):
    missing = write_manifest(tmp_path, sources=[{"source": f"dir:{tmp_path}/nope", "n": 3}])
    one_line_error(vinci("build", missing, "--plan"), f"dir:{tmp_path}/nope", "no such folder")
    langs = write_manifest(tmp_path, sources=[{"source": f"dir:{EXAMPLES}", "n": 3, "options": {"langs": ["svg"]}}])
    one_line_error(vinci("build", langs, "--plan"), "unknown option 'langs'", "takes no options")


def test_empty_sft_warns_in_plan_and_build_exits_zero_with_its_report(tmp_path):
    manifest = write_manifest(tmp_path, sources=[{"source": "synthetic.smiles", "n": 3}], splits={"virl": 5, "sft": "rest"})
    plan = vinci("build", manifest, "--plan")
    assert plan.returncode == 0 and "warning: split 'sft' will have no rows" in plan.stderr
    out = tmp_path / "out"
    run = vinci("build", manifest, "--out", out, "--workers", "1")
    assert run.returncode == 0, run.stderr
    assert "warning: split 'sft' has no rows" in run.stderr and "Traceback" not in run.stderr
    assert (out / "report" / "overview.png").exists() and (out / "report" / "samples.png").exists()
    assert sorted(p.name.split("-")[0] for p in (out / "data").glob("*.parquet")) == ["virl"]


def test_build_errors_are_not_glued_to_the_progress_bar(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    manifest = write_manifest(tmp_path, sources=[{"source": "hub:local/x", "n": 3, "options": {
        "data_files": str(bad), "code_column": "c", "lang": "svg"}}])
    run = vinci("build", manifest, "--out", tmp_path / "out", "--workers", "1")
    one_line_error(run, "broken.parquet")
    assert "harvest+render" in run.stderr
    assert not re.search(r"row/s\][^\r\n]", run.stderr), run.stderr
    assert sum("broken.parquet" in line for line in run.stderr.splitlines()) == 1, run.stderr
