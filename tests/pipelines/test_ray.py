"""The Ray executor on a local cluster: same rows as the local executor, and kill-and-resume."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.pipelines.conftest import build_cli, rows_of

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local cluster (2 CPUs) shared by the tests of this module."""
    exe = shutil.which("ray") or os.path.join(os.path.dirname(os.sys.executable), "ray")
    tmp = tmp_path_factory.mktemp("ray")
    port = 6391
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    subprocess.run([exe, "start", "--head", "--num-cpus=2", f"--port={port}", "--include-dashboard=false",
                    "--node-ip-address=127.0.0.1",
                    f"--temp-dir={tmp}", "--disable-usage-stats"], check=True, capture_output=True, env=env, timeout=120)
    yield {**env, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    subprocess.run([exe, "stop", "--force"], capture_output=True, timeout=120)


def test_ray_build_gives_the_local_rows(reference, cluster, tmp_path):
    manifest, local_out = reference
    proc = build_cli(manifest, tmp_path / "ray", "--executor", "ray", env=cluster)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert rows_of(tmp_path / "ray") == rows_of(local_out)


def test_killed_ray_build_resumes_identical(reference, cluster, tmp_path):
    manifest, local_out = reference
    out = tmp_path / "ray-killed"
    proc = build_cli(manifest, out, "--executor", "ray", env=cluster)
    time.sleep(9)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc = build_cli(manifest, out, "--executor", "ray", env=cluster)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert rows_of(out) == rows_of(local_out)


def test_failing_units_are_retried_then_reported(cluster, tmp_path, tiny_manifest):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 not parquet PAR1")
    manifest = tiny_manifest(sources=[{"source": "hub:local/broken", "n": 3,
                                       "options": {"data_files": str(bad), "code_column": "c", "lang": "svg"}}],
                             retries=1, ray={"actor_cpus": 0.5})
    proc = build_cli(manifest, tmp_path / "out", "--executor", "ray", env=cluster)
    _, err = proc.communicate(timeout=600)
    text = err.decode()
    assert proc.returncode == 1
    assert "error: unit u-000-00000: SourceError:" in text and "broken.parquet" in text and "(failed 2 times;" in text


def test_default_install_does_not_import_ray():
    code = "import sys, pipelines.build, pipelines.cli, pipelines.executors.local; print('ray' in sys.modules)"
    done = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
