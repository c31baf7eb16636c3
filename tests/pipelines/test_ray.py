"""The Ray executor on a local cluster: same rows as the local executor, and kill-and-resume."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from core.errors import BuildError
from pipelines.executors.ray import schedule
from pipelines.executors.retries import Retries, UnitFailed
from pipelines.unit import Unit
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


def test_actors_take_the_declared_render_cpus_as_far_as_the_cluster_holds_them():
    from filters.render.base import render_cpus
    from pipelines.executors.ray import fit
    from pipelines.manifest import RayConfig

    declared = render_cpus(1)
    assert fit(RayConfig(), 4, declared, [4 * declared]) == (4, declared)
    assert fit(RayConfig(), 4, declared, [declared, declared * 1.5]) == (2, declared), "an actor sits on one node"
    assert fit(RayConfig(), 4, declared, [declared / 2] * 2) == (2, declared / 2), "the largest node holds one"
    assert fit(RayConfig(actors=3, actor_cpus=0.5), 3, 0.5, [1.0]) == (3, 0.5), "the manifest's own sizing is kept"


class Call:
    """A call made with ``.remote``: what ``ray.get`` answers, worked out at once; calls finish in the
    order they were made."""

    made = 0

    def __init__(self, fn, *args):
        Call.made += 1
        self.order = Call.made
        try:
            self.value, self.error = fn(*args), None
        except Exception as exc:  # noqa: BLE001 - kept for ray.get, as Ray keeps a task's error
            self.value, self.error = None, exc


class Remote:
    def __init__(self, fn):
        self.fn = fn

    def remote(self, *args):
        return Call(self.fn, *args)


class FakeActor:
    """An actor of ``FakeRay``: runs units with ``work``; once dead, every call fails as Ray's would."""

    def __init__(self, cluster, n):
        self.cluster, self.n, self.dead = cluster, n, False
        self.ready = Remote(cluster.setup)
        self.__call__ = Remote(self.run)
        self.close = Remote(lambda: None)

    def run(self, unit):
        self.cluster.calls.append((unit.index, self.n, self.dead))
        if self.dead:
            raise ray.exceptions.ActorDiedError()
        return self.cluster.work(self, unit)


class FakeRay:
    """The four calls ``schedule`` makes of Ray, done in this process, with Ray's own exception types;
    ``work(actor, unit)`` says what a unit's call does on an actor (a value, or raising)."""

    exceptions = ray.exceptions

    def __init__(self, work, setup=lambda: True):
        self.work, self.setup = work, setup
        self.actors, self.calls = [], []

    def start_actor(self):
        self.actors.append(FakeActor(self, len(self.actors)))
        return self.actors[-1]

    def wait(self, refs, num_returns=1, timeout=None):
        refs = sorted(refs, key=lambda call: call.order)
        return refs[:num_returns], refs[num_returns:]

    def get(self, call):
        if call.error is not None:
            raise call.error
        return call.value

    def kill(self, actor, no_restart=True):
        actor.dead = True

    def runs(self, index):
        """The actors that ran unit ``index``, in order."""
        return [n for i, n, _ in self.calls if i == index]


def own_error(message):
    """What ``ray.get`` raises for an exception of the unit's own work (the cause kept on it)."""
    return ray.exceptions.RayTaskError("UnitActor.__call__", f"Traceback\nValueError: {message}", ValueError(message))


def node_lost(actor):
    """A unit's actor gone with its node: Ray answers 'unavailable' at once, the actor is dead from then on."""
    actor.dead = True
    return ray.exceptions.ActorUnavailableError("RpcError: Socket closed rpc_code: 14", None)


def units(n):
    return [Unit(0, i, i, i + 1) for i in range(n)]


def test_a_unit_lost_with_its_actor_runs_on_a_live_one_without_counting():
    """``retries=0``: a counted failure would stop the build; the first runs of units 2 and 4 are lost
    with their actors, and every unit finishes, none handed to a dead actor."""
    def work(actor, unit):
        if unit.index in (2, 4) and len(cluster.runs(unit.index)) == 1:
            raise node_lost(actor)
        return unit.index * 10

    cluster = FakeRay(work)
    done = [(u.index, kept) for u, kept in schedule(units(6), cluster, cluster.start_actor, 2, Retries(0))]
    assert sorted(done) == [(i, i * 10) for i in range(6)]
    assert len(cluster.actors) == 4 and all(actor.dead for actor in cluster.actors)  # 2 replaced; all closed at the end
    assert all(len(set(cluster.runs(i))) == 2 for i in (2, 4))
    assert not any(dead for _, _, dead in cluster.calls) and len(cluster.calls) == 8


def test_only_a_units_own_failure_counts_against_retries():
    def work(actor, unit):
        if unit.index == 1:
            raise own_error("bad row 7")
        if unit.index == 3 and len(cluster.runs(3)) == 1:
            raise node_lost(actor)
        return unit.index

    cluster = FakeRay(work)
    done = []
    with pytest.raises(UnitFailed, match=r"^unit u-000-00001: ValueError: bad row 7 \(failed 2 times;"):
        for unit, kept in schedule(units(5), cluster, cluster.start_actor, 2, Retries(1)):
            done.append(unit.index)
    assert sorted(done) == [0, 2, 3, 4] and len(cluster.runs(1)) == 2 and len(cluster.runs(3)) == 2
    assert len(cluster.actors) == 3  # the actor of a unit's own failure stays; the lost one is replaced


def test_a_unit_that_takes_down_every_actor_it_runs_on_is_set_aside():
    def work(actor, unit):
        if unit.index == 0:
            raise node_lost(actor)
        return unit.index

    cluster = FakeRay(work)
    done = []
    with pytest.raises(UnitFailed, match=r"^unit u-000-00000: ActorUnavailableError: .* \(its actor died under it 5 times;"):
        for unit, _ in schedule(units(3), cluster, cluster.start_actor, 1, Retries(2)):
            done.append(unit.index)
    assert done == [1, 2] and cluster.runs(0) == [0, 1, 2, 3, 4]


def test_an_actor_that_cannot_set_up_stops_the_build_with_its_cause():
    def setup():
        cause = ray.exceptions.RayTaskError("UnitActor.__init__", "Traceback\nFileNotFoundError: no bwrap on PATH",
                                            FileNotFoundError("no bwrap on PATH"))
        raise ray.exceptions.ActorDiedError(cause)

    cluster = FakeRay(lambda actor, unit: 0, setup)
    with pytest.raises(BuildError, match=r"^a Ray actor could not set up its runner: FileNotFoundError: no bwrap on PATH$"):
        list(schedule(units(1), cluster, cluster.start_actor, 2, Retries(2)))
    assert cluster.calls == [] and all(actor.dead for actor in cluster.actors)


def test_retries_count_own_failures_and_losses_apart():
    unit = Unit(0, 0, 0, 1)
    policy = Retries(1, losses=3)
    assert policy.lost(unit, RuntimeError("gone")) and policy.lost(unit, RuntimeError("gone"))
    assert policy.again(unit, ValueError("bad")) and not policy.again(unit, ValueError("bad"))
    assert policy.attempts[unit] == 2 and policy.lost_count[unit] == 2
    with pytest.raises(UnitFailed, match=r"\(failed 2 times;"):
        policy.raise_failures()


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


@pytest.mark.renders
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not (shutil.which("unshare") and shutil.which("ip") and shutil.which("pgrep")),
                    reason="needs unshare, ip and pgrep")
def test_a_build_survives_a_node_killed_mid_build(reference, tmp_path):
    """A real two-node cluster (head + a second ``ray start --address`` node, one CPU each, token auth) in
    network and PID namespaces of the test's own; one actor per node. The second node's raylet and every
    process under it (its actor, mid-unit) get SIGKILL: the lost unit runs again on a live actor, uncounted
    (``retries: 0``), and the rows equal the local executor's."""
    import sys
    import tempfile

    import yaml

    manifest, local_out = reference
    spec = {**yaml.safe_load(manifest.read_text()), "retries": 0, "ray": {"actors": 2, "actor_cpus": 0.5}}
    manifest = tmp_path / "two-nodes.yaml"
    manifest.write_text(yaml.safe_dump(spec))
    exe = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    temp = tempfile.mkdtemp(prefix="vr", dir="/tmp")  # Ray's socket paths must stay short
    script = tmp_path / "cluster.sh"
    script.write_text(f"""set -e
ip link set lo up
export HOME={home} RAY_USAGE_STATS_ENABLED=0 PYTHONPATH={os.getcwd()}
unset RAY_ADDRESS RAY_AUTH_TOKEN RAY_AUTH_TOKEN_PATH
{exe} get-auth-token --generate > /dev/null
export RAY_AUTH_MODE=token
{exe} start --head --num-cpus=1 --port=6399 --include-dashboard=false --node-ip-address=127.0.0.1 \\
    --temp-dir={temp}/head --disable-usage-stats > {tmp_path}/head.log 2>&1
{exe} start --address=127.0.0.1:6399 --num-cpus=1 --node-manager-port=6398 --node-ip-address=127.0.0.1 \\
    --temp-dir={temp}/second --disable-usage-stats > {tmp_path}/second.log 2>&1
{sys.executable} -m pipelines.cli build {manifest} --out {out} --workers 1 --no-report --executor ray \\
    --address 127.0.0.1:6399 &
build=$!
raylet=$(pgrep -o -f -- '--node_manager_port=6398')
until pgrep -P $raylet -f 'UnitActor[.]__call__' > /dev/null; do
    ps -o stat= -p $build | grep -q '^[^Z]' || {{ echo "the build ended before a unit ran on the second node" >&2; exit 3; }}
    sleep 0.05
done
tree() {{ echo $1; for child in $(pgrep -P $1); do tree $child; done; }}
kill -9 $(tree $raylet) || true  # a process may end on its own meanwhile
touch {tmp_path}/killed
wait $build
""")
    try:
        done = subprocess.run(["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--",
                               "bash", str(script)], capture_output=True, text=True, timeout=540)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    logs = "".join((tmp_path / f"{node}.log").read_text()[-1000:] for node in ("head", "second")
                   if (tmp_path / f"{node}.log").exists())
    assert done.returncode == 0 and (tmp_path / "killed").exists(), done.stderr[-3000:] + logs
    assert "lost with its Ray actor" in done.stderr  # the kill hit a unit in flight
    assert rows_of(out) == rows_of(local_out)
