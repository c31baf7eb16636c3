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


@pytest.mark.renders
def test_ray_build_gives_the_local_rows(reference, cluster, tmp_path):
    manifest, local_out = reference
    proc = build_cli(manifest, tmp_path / "ray", "--executor", "ray", env=cluster)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert rows_of(tmp_path / "ray") == rows_of(local_out)


@pytest.mark.renders
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


@pytest.mark.renders
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


def _kill_namespace(netns: str) -> None:
    """SIGKILL every process in the private network namespace ``netns`` (the test cluster, nothing else)."""
    for proc in os.listdir("/proc"):
        if proc.isdigit():
            try:
                if os.readlink(f"/proc/{proc}/ns/net") == netns:
                    os.kill(int(proc), signal.SIGKILL)
            except OSError:
                pass


@pytest.mark.renders
@pytest.mark.skipif(not (shutil.which("unshare") and shutil.which("ip")), reason="needs unshare and ip")
def test_a_token_auth_cluster_at_an_explicit_address(reference, tmp_path):
    """``ray start --head`` with token authentication, in a network namespace of the test's own (loopback only);
    ``vinci build --address`` finds the token in ``~/.ray/auth_token`` and builds the local executor's rows."""
    import sys
    import tempfile

    manifest, local_out = reference
    exe = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    temp = tempfile.mkdtemp(prefix="vr", dir="/tmp")  # Ray's socket paths must stay short
    script = tmp_path / "cluster.sh"
    script.write_text(f"""set -e
readlink /proc/self/ns/net > {tmp_path}/netns
ip link set lo up
export HOME={home} RAY_USAGE_STATS_ENABLED=0 PYTHONPATH={os.getcwd()}
unset RAY_AUTH_MODE RAY_ADDRESS RAY_AUTH_TOKEN RAY_AUTH_TOKEN_PATH
{exe} get-auth-token --generate > /dev/null
RAY_AUTH_MODE=token {exe} start --head --num-cpus=2 --port=6399 --include-dashboard=false --node-ip-address=127.0.0.1 \\
    --temp-dir={temp} --disable-usage-stats > {tmp_path}/head.log 2>&1
exec {sys.executable} -m pipelines.cli build {manifest} --out {out} --workers 1 --no-report --executor ray \\
    --address 127.0.0.1:6399
""")
    try:
        done = subprocess.run(["unshare", "--net", "--", "bash", str(script)], capture_output=True, text=True, timeout=900)
    finally:
        if (tmp_path / "netns").exists():
            _kill_namespace((tmp_path / "netns").read_text().strip())
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:] + (tmp_path / "head.log").read_text()[-2000:]
    assert (home / ".ray" / "auth_token").is_file() and rows_of(out) == rows_of(local_out)
