"""What a user sees: one line per problem, no traceback, nothing silently accepted or overwritten."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
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


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_render_output_problems_are_one_line(tmp_path):
    badge, aspirin = EXAMPLES / "badge.svg", EXAMPLES / "aspirin.smi"
    (tmp_path / "taken.png").write_bytes(b"x")
    one_line_error(vinci("render", badge, aspirin, "-o", tmp_path / "taken.png"), "taken.png", "not a folder")
    one_line_error(vinci("render", badge, "-o", "/proc/no/such/x.png"), "/proc/no/such")
    one_line_error(vinci("render", badge, aspirin, "-o", tmp_path / "x.png"), "x.png: names a file", "2 files")
    assert not (tmp_path / "x.png").exists()
    twin = tmp_path / "other" / "badge.smi"
    twin.parent.mkdir()
    twin.write_text("CCO\n")
    out = tmp_path / "out"
    one_line_error(vinci("render", badge, twin, "-o", f"{out}/"), "badge.svg", "badge.smi", "badge.png")
    assert not out.exists()
    (tmp_path / "folder").mkdir()
    run = vinci("render", badge, "-o", tmp_path / "folder")
    assert run.returncode == 0 and (tmp_path / "folder" / "badge.png").stat().st_size > 0


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
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


@pytest.mark.renders
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


@pytest.mark.renders
def test_empty_sft_warns_in_plan_and_build_exits_zero_with_its_report(tmp_path):
    manifest = write_manifest(tmp_path, sources=[{"source": "synthetic.smiles", "n": 3}], splits={"virl": 5, "sft": "rest"})
    plan = vinci("build", manifest, "--plan")
    assert plan.returncode == 0 and "warning: split 'sft' will have no rows" in plan.stderr
    out = tmp_path / "out"
    run = vinci("build", manifest, "--out", out, "--workers", "1")
    assert run.returncode == 0, run.stderr
    assert "warning: split 'sft' has no rows" in run.stderr and "Traceback" not in run.stderr
    log = (out / "build.log").read_text()
    assert "warning: split 'sft' will have no rows" in log and "warning: split 'sft' has no rows" in log
    assert (out / "report" / "overview.png").exists() and (out / "report" / "samples.png").exists()
    assert sorted(p.name.split("-")[0] for p in (out / "data").glob("*.parquet")) == ["virl"]


@pytest.mark.renders
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


@pytest.mark.renders
def test_bad_values_are_refused_before_any_work(tmp_path):
    manifest = write_manifest(tmp_path)
    out = tmp_path / "out"
    one_line_error(vinci("build", manifest, "--out", out, "--render-workers", "0"), "--render-workers", "0 is below 1")
    one_line_error(vinci("build", manifest, "--out", out, "--limit", "0"), "--limit", "0 is below 1")
    one_line_error(vinci("build", manifest, "--out", out, "--address", "127.0.0.1:6379"), "--address", "--executor ray")
    one_line_error(vinci("harvest", "synthetic.svg", "-n", "-5", "-o", tmp_path / "x.parquet"), "-n", "-5 is below 1")
    workers = write_manifest(tmp_path, render={"workers": -3})
    one_line_error(vinci("build", workers, "--out", out), "render.workers")
    rust = write_manifest(tmp_path, sources=[{"source": "hub:local/x", "n": 3, "options": {
        "data_files": str(tmp_path / "x.parquet"), "code_column": "c", "lang": "rust"}}])
    one_line_error(vinci("build", rust, "--out", out), "option lang 'rust'", "known: python")
    assert not out.exists()


def test_unwritable_out_and_undecodable_manifest_are_one_line(tmp_path):
    manifest = write_manifest(tmp_path)
    one_line_error(vinci("build", manifest, "--out", "/proc/vinci-test-out"), "--out /proc/vinci-test-out", "cannot write")
    (tmp_path / "file").write_text("x")
    one_line_error(vinci("build", manifest, "--out", tmp_path / "file" / "out"), "cannot write")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(manifest.read_bytes() + "# caf\xe9\n".encode("latin-1"))
    one_line_error(vinci("build", latin, "--plan"), "latin.yaml", "not UTF-8", "byte 0xe9")


def test_version():
    run = vinci("--version")
    assert run.returncode == 0 and re.fullmatch(r"vinci \S+\n", run.stdout), run.stdout + run.stderr


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_every_source_is_accounted_for_and_an_empty_one_warns(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "latin.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><text>caf\xe9</text></svg>")
    (tree / "link.svg").symlink_to(EXAMPLES / "badge.svg")
    both = write_manifest(tmp_path, sources=[{"source": "synthetic.smiles", "n": 3}, {"source": f"dir:{tree}", "n": 5}],
                          splits={"virl": 0, "sft": "rest"})
    out = tmp_path / "out"
    run = vinci("build", both, "--out", out, "--workers", "1", "--no-report")
    assert run.returncode == 0, run.stderr
    warning = f"warning: sources.1 dir:{tree}: 0 rows harvested, files skipped: 1 symlink, 1 undecodable; it gave no rows"
    assert warning in run.stderr, run.stderr
    assert re.search(rf"dir:{tree}\s+5\s+0  1 symlink, 1 undecodable", run.stdout), run.stdout
    card = (out / "README.md").read_text()
    assert f"| `dir:{tree}` | 5 | 0 | 1 symlink, 1 undecodable |" in card and "| `synthetic.smiles` | 3 | 3 | none |" in card
    log = (out / "build.log").read_text()
    assert warning in log and "written: sft:generate 3" in log and "harvest+render+filter: 100%" in log
    assert "\r" not in log
    alone = write_manifest(tmp_path, sources=[{"source": f"dir:{tree}", "n": 5}])
    one_line_error(vinci("build", alone, "--out", tmp_path / "alone", "--workers", "1", "--no-report"),
                   "no source gave a row", f"dir:{tree}: 0 rows harvested", "1 symlink, 1 undecodable")


@pytest.mark.renders
def test_limit_keeps_every_split_and_the_card_says_what_the_build_has(tmp_path):
    manifest = write_manifest(tmp_path, splits={"virl": 20, "test": 0, "sft": "rest"})
    out = tmp_path / "out"
    run = vinci("build", manifest, "--out", out, "--workers", "1", "--no-report", "--limit", "3")
    assert run.returncode == 0, run.stderr
    splits = sorted({p.name.split("-")[0] for p in (out / "data").glob("*.parquet")})
    assert splits == ["sft", "virl"], splits
    card = (out / "README.md").read_text()
    assert "| `synthetic.svg` | 3 | 3 | none |" in card and "capped by `--limit 3`" in card
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "other"  # CC0 procedural rows beside NCI molecules
    assert 'ds["sft"][0]' in card and "# splits: sft, virl" in card


@pytest.mark.renders
def test_ctrl_c_stops_at_once_and_a_rerun_resumes(reference, tmp_path):
    import signal
    import time

    from tests.pipelines.conftest import build_cli, rows_of

    manifest, ref_out = reference
    out = tmp_path / "out"
    proc = build_cli(manifest, out)
    deadline = time.monotonic() + 300
    while not list((out / "work" / "units").glob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 2.5, err.decode()
    err = err.decode()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert f"interrupted: finished units are kept in {out}; run the same command again to resume" in err
    done = len(list((out / "work" / "units").glob("*.parquet")))
    again = vinci("build", manifest, "--out", out, "--workers", "1", "--no-report")
    assert again.returncode == 0, again.stderr
    assert f"resumed: {done} of 9 units already done in {out}" in again.stderr
    assert re.search(r"32/32 .*kept=32, units=9/9", again.stderr), again.stderr[-500:]
    assert rows_of(out) == rows_of(ref_out)


@pytest.mark.renders
def test_a_second_build_into_a_busy_folder_names_the_holder(reference, tmp_path):
    import signal
    import socket
    import time

    from core.errors import BuildError
    from pipelines.build import Build
    from pipelines.manifest import load_manifest
    from tests.pipelines.conftest import build_cli

    manifest, _ = reference
    out = tmp_path / "out"
    proc = build_cli(manifest, out)
    lock = out / ".vinci-build.lock"
    while not (lock.exists() and lock.read_text()):
        time.sleep(0.1)
    second = vinci("build", manifest, "--out", out, "--workers", "1", "--no-report", timeout=60)
    one_line_error(second, f"{out} is being built by pid {proc.pid} on {socket.gethostname()} since")
    with pytest.raises(BuildError, match=f"pid {proc.pid}"):
        Build(load_manifest(manifest), out, workers=1, progress=False)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert f"pid {proc.pid}" in lock.read_text()  # the dead build's lock is still there, and taken over:
    build = Build(load_manifest(manifest), out, workers=1, progress=False)
    assert lock.read_text().startswith(f"pid {os.getpid()} on ")
    build.close()
