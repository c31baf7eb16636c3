"""The training commands answer bad input with one line and exit 1, quickly, without a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.pipelines.conftest import as_at_a_terminal

CHART = "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [1, 2])\n"


def vinci(*args, env=None, timeout=120):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return done, time.monotonic() - started


def one_line_error(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-1500:]
    return lines[0]


OFFLINE = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": "/nonexistent-vinci-test-cache", "HF_HUB_OFFLINE": "0"}


@pytest.mark.parametrize("args,expected", [
    (["train", "sft", "--data", "/no/such/corpus", "--config", "training/configs/tiny-sft.yaml"], "no such folder"),
    (["train", "sft", "--data", "no-such-dir/corpus", "--config", "training/configs/tiny-sft.yaml"], "Hub cannot be reached"),
    (["train", "virl", "--data", ".", "--config", "training/configs/tiny-virl.yaml"], "no shards"),
    (["train", "sft", "--data", ".", "--config", "training/configs/missing.yaml"], "does not exist"),
])
def test_train_input_errors(args, expected):
    done, _ = vinci(*args, env=OFFLINE)
    assert expected in one_line_error(done)


@pytest.mark.renders
def test_eval_names_the_splits_that_exist(demo_corpus, tmp_path):
    done, _ = vinci("eval", "--data", demo_corpus, "--split", "test", "--model", "tiny:qwen2-vl", "--encoder", "tiny:dinov2",
                    "--output", str(tmp_path / "e"), env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert "has no split 'test'; it has: sft, virl" in one_line_error(done)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "e").exists(), "the split is checked before any model is built"


def test_saving_a_model_draws_no_progress_bar(tmp_path, capfd):
    from training.models import build_tiny_dinov2

    build_tiny_dinov2(tmp_path / "enc")
    assert (tmp_path / "enc" / "config.json").exists() and "Writing model shards" not in capfd.readouterr().err


@pytest.mark.renders
def test_default_encoder_offline_fails_fast_naming_the_tiny_one(tmp_path, demo_corpus):
    code = tmp_path / "chart.py"
    code.write_text(CHART)
    target = tmp_path / "t.png"
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(target)
    done, seconds = vinci("reward", "--lang", "python", "--code", str(code), "--image", str(target), env=OFFLINE)
    assert "--encoder tiny:dinov2" in one_line_error(done) and seconds < 30
    done, seconds = vinci("eval", "--data", demo_corpus, "--model", "tiny:qwen2-vl", "--output", str(tmp_path / "e"), env=OFFLINE)
    assert "--encoder tiny:dinov2" in one_line_error(done) and seconds < 30


@pytest.mark.renders
def test_reward_accepts_the_tiny_encoder_spelling(tmp_path):
    code = tmp_path / "chart.py"
    code.write_text(CHART)
    done, _ = vinci("reward", "--lang", "python", "--code", str(code), "--image", "/no/such.png")
    assert "cannot read /no/such.png" in one_line_error(done)
    from filters.render import RenderService

    with RenderService(workers=1) as service:
        (tmp_path / "t.png").write_bytes(service.render_many([("python", CHART)])[0].png)
    done, _ = vinci("reward", "--lang", "python", "--code", str(code), "--image", str(tmp_path / "t.png"), "--encoder", "tiny:dinov2",
                    env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr[-1500:]
    assert '"total": 1.0' in done.stdout and (tmp_path / "cache" / "vinci" / "tiny-dinov2" / "config.json").exists()


@pytest.mark.renders
def test_a_missing_model_fails_at_once_naming_it(tmp_path, demo_corpus):
    done, seconds = vinci("eval", "--data", demo_corpus, "--model", "runs/nonexist", "--encoder", "tiny:dinov2",
                          "--output", str(tmp_path / "e"), env=OFFLINE)
    line = one_line_error(done)
    assert "model runs/nonexist: no such folder" in line and "Hub cannot be reached" in line and seconds < 30, line
    (tmp_path / "empty").mkdir()
    done, _ = vinci("eval", "--data", demo_corpus, "--model", str(tmp_path / "empty"), "--output", str(tmp_path / "e"))
    assert "holds no config.json" in one_line_error(done)
    done, seconds = vinci("train", "sft", "--data", demo_corpus, "--output", str(tmp_path / "t"), env=OFFLINE)
    line = one_line_error(done)
    assert "model Qwen/Qwen2.5-VL-7B-Instruct" in line and "--config tiny-sft" in line and seconds < 30, line


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.renders
def test_train_refuses_an_earlier_run_unless_told_and_takes_config_names_from_any_folder(tmp_path, demo_corpus):
    output = tmp_path / "run"
    (output / "checkpoint-3").mkdir(parents=True)
    done, _ = vinci("train", "sft", "--data", demo_corpus, "--config", "tiny-sft", "--output", str(output))
    line = one_line_error(done)
    assert f"{output} holds an earlier run (1 checkpoint(s) (checkpoint-3 the last))" in line and "--overwrite" in line
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "sft", "--data", demo_corpus, "--config", "tiny-sft",
                           "--output", str(output), "--overwrite", "--set", "max_steps=1", "--set", "save_steps=1"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained to step 1" in done.stdout and sorted(p.name for p in output.glob("checkpoint-*")) == ["checkpoint-1"]


@pytest.mark.renders
def test_ctrl_c_in_training_stops_at_once_and_says_how_to_resume(tmp_path, demo_corpus):
    import signal

    output = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "train", "sft", "--data", demo_corpus, "--config", "tiny-sft",
                             "--output", str(output), "--set", "max_steps=5000", "--set", "save_steps=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=as_at_a_terminal)
    deadline = time.monotonic() + 300
    while not (output / "checkpoint-2").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 2.5 and proc.returncode == 130 and "Traceback" not in err, err[-2000:]
    assert f"interrupted: checkpoints are kept in {output} (checkpoint-" in err and "with --resume" in err


@pytest.mark.renders
def test_select_needs_two_samples_per_prompt(demo_corpus):
    done, _ = vinci("select", "--data", demo_corpus, "--model", "tiny:qwen2-vl", "-k", "1", "-o", "/tmp/never")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: vinci select: argument -k: 1 is below 2 (see vinci select --help)"], done.stderr
