"""Isolation for untrusted code: namespaces around each worker, limits around each sample.

Layers, strongest first:

* **namespaces** -- each worker runs under ``bubblewrap`` with new user, PID, network, IPC and UTS
  namespaces, a read-only view of only the system and Python trees it needs (no home, no project
  data, no ``/tmp`` of the host), a private ``/tmp``, and a cleared environment. No network device
  but a dead loopback exists inside, so no socket reaches the host.
* **process cage** -- a cgroup (v1 ``pids`` or v2) per worker caps how many tasks it may hold, so a
  fork bomb stalls inside its cage, and lets the pool kill every process the worker ever made.
* **per-sample limits** -- address space, CPU seconds, file size, open files, no core dumps, a
  process group killed at the deadline (``apply_sample_limits``, ``run_limited``).

Where namespaces are unavailable the worker runs with the limits, a scrubbed environment and an
audit hook that refuses sockets and process spawning; ``detect_isolation`` says which level is
active and the pool logs it.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .jail import JailSpec

log = logging.getLogger("vinci.sandbox")

NAMESPACES = "namespaces (bubblewrap: user, pid, net, ipc, uts, mount)"
RLIMITS = "rlimits + scrubbed env + audit hook (no namespaces available)"

SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/tmp/home",
    "MPLBACKEND": "Agg",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "TZ": "UTC",
    # pandas imports pyarrow, whose jemalloc starts a purging thread: a worker must stay single-threaded
    # to fork a sample straight into its namespaces (``jail.fork_into_namespaces``); jemalloc purges inline.
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
SANDBOX_UID = 1000
# The host uid a worker runs as when vinci runs as root (``VINCI_SANDBOX_HOST_UID`` overrides; 0 keeps
# root): owned by nobody, it holds no file and trusts no kernel interface with anything.
SANDBOX_HOST_UID = 64900
WORKER_TMP_BYTES = 1 << 30
SYSTEM_RO_PATHS = ("/usr", "/etc/fonts", "/etc/texmf", "/etc/alternatives", "/etc/ld.so.cache",
                   "/etc/ssl/certs", "/var/lib/texmf", "/var/cache/fontconfig", "/etc/localtime")


@dataclass(frozen=True)
class SampleLimits:
    """Per-sample resource limits; the defaults fit a chart, a page, a picture or a molecule."""

    address_space_bytes: int = 4 << 30
    cpu_seconds: int = 60
    file_size_bytes: int = 64 << 20
    open_files: int = 256
    scratch_bytes: int = 256 << 20


WALL_FACTOR = 3.0
WALL_EXTRA_S = 10.0


def wall_deadline_s(timeout_s: float) -> float:
    """The wall-clock safety deadline of a sample whose budget is ``timeout_s`` of CPU time.

    A sample's ``timeout`` verdict is decided by the CPU time it used, which does not depend on
    how busy the machine is; wall-clock time only stops a sample that sleeps or blocks, and is
    generous enough that a saturated machine does not reach it first.
    """
    return timeout_s * WALL_FACTOR + WALL_EXTRA_S


def cpu_used_s(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def apply_sample_limits(limits: SampleLimits, cpu_seconds: float | None = None) -> None:
    """Set rlimits on the calling process (a forked sample child or a ``preexec_fn``).

    The CPU limit is a backstop one second past the budget (``SIGXCPU``, then ``SIGKILL`` a
    second later); the verdict itself compares the CPU time used with the budget.
    """
    cpu = math.ceil(cpu_seconds if cpu_seconds is not None else limits.cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for which, value in ((resource.RLIMIT_AS, limits.address_space_bytes),
                         (resource.RLIMIT_FSIZE, limits.file_size_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                         (resource.RLIMIT_CORE, 0), (resource.RLIMIT_MSGQUEUE, 0), (resource.RLIMIT_SIGPENDING, 1024)):
        resource.setrlimit(which, (value, value))


@dataclass
class Completed:
    returncode: int
    timed_out: bool
    elapsed_s: float
    cpu_s: float = 0.0


def run_limited(cmd: list[str], cwd: str, env: dict[str, str], timeout_s: float,
                limits: SampleLimits | None = None, jail_spec: "JailSpec | None" = None) -> Completed:
    """Run a helper program (pdflatex, a naive baseline) in its own session with limits.

    Unlike ``subprocess.run(timeout=...)``, a deadline kills the whole process group, so nothing
    the program spawned outlives it. With ``jail_spec`` the program runs in the sample jail: new
    user and mount namespaces where only ``jail_spec.keep_writable`` is writable, no capabilities,
    seccomp.
    """
    limits = limits or SampleLimits()
    start = time.monotonic()

    def confine() -> None:
        if jail_spec is not None:
            from .jail import enter_jail

            enter_jail(jail_spec, fork_sample=False)
        apply_sample_limits(limits, timeout_s)

    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=confine)
    pidfd = os.pidfd_open(proc.pid)
    try:
        finished = bool(select.select([pidfd], [], [], wall_deadline_s(timeout_s))[0])
    finally:
        os.close(pidfd)
    kill_group(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    cpu = cpu_used_s(usage)
    over_cpu = cpu > timeout_s or (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU)
    return Completed(code, not finished or over_cpu, time.monotonic() - start, cpu)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@functools.cache
def detect_isolation() -> str:
    """The strongest isolation level this machine offers; checked once per process."""
    if os.environ.get("VINCI_ISOLATION") == "rlimits":
        return RLIMITS
    bwrap = shutil.which("bwrap")
    if bwrap:
        probe = [*bwrap_prefix(bwrap, []), "/bin/true"]
        try:
            if subprocess.run(probe, capture_output=True, timeout=20).returncode == 0:
                return NAMESPACES
        except (OSError, subprocess.TimeoutExpired):
            pass
    return RLIMITS


# Kernel interfaces that trust the uid 0 of the host by file permission alone, without asking for a
# capability. The sandbox uid maps to the uid that runs vinci -- root, in containers and CI -- so these
# are bound read-only over the sandbox's /proc.
PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi",
                  "/proc/scsi", "/proc/driver", "/proc/tty", "/proc/pressure")


# Files only root may read (kernel memory layout, timers, slabs): the sandbox uid maps to root, so
# they are covered with an empty file.
PROC_HIDDEN = ("/proc/kpageflags", "/proc/kpagecount", "/proc/kpagecgroup", "/proc/slabinfo", "/proc/vmallocinfo",
               "/proc/timer_list", "/proc/pagetypeinfo", "/proc/sched_debug", "/proc/kallsyms", "/proc/keys",
               "/proc/key-users", "/proc/kcore", "/proc/kmsg", "/proc/modules", "/proc/iomem", "/proc/ioports")


def _proc_read_only() -> list[str]:
    args: list[str] = []
    for path in PROC_READ_ONLY:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for path in PROC_HIDDEN:
        if os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    return args


def sandbox_host_uid() -> int | None:
    """The unprivileged host uid a worker runs as, where vinci runs as root; ``None`` where vinci already
    runs as an ordinary user (its own uid is the sandbox's) or the override keeps root."""
    if os.geteuid() != 0:
        return None
    uid = int(os.environ.get("VINCI_SANDBOX_HOST_UID", SANDBOX_HOST_UID))
    return uid or None


def shown_paths(ro_paths: list[str]) -> list[str]:
    return [path for path in dict.fromkeys([*SYSTEM_RO_PATHS, *ro_paths]) if os.path.exists(path)]


def bwrap_prefix(bwrap: str, ro_paths: list[str], cover_proc: bool = True,
                 sources: dict[str, str] | None = None) -> list[str]:
    """bubblewrap's arguments for one worker: as an unprivileged uid without any capability even
    where vinci runs as root, a read-only root, a bounded private /tmp.

    ``cover_proc``: the sandbox uid maps to host root, so ``/proc`` files that trust root are covered
    (locked mounts, which keep a sample from mounting a ``/proc`` of its own). ``sources``: where each
    shown path is bound from (``launch.py`` stages them for an uid that cannot walk to them)."""
    args = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv",
            "--proc", "/proc", *(_proc_read_only() if cover_proc else []), "--dev", "/dev",
            "--size", str(WORKER_TMP_BYTES), "--tmpfs", "/tmp", "--dir", "/tmp/home",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/sbin", "/sbin"]
    for path in shown_paths(ro_paths):
        args += ["--ro-bind", (sources or {}).get(path, path), path]
    for key, value in SAFE_ENV.items():
        args += ["--setenv", key, value]
    return args + ["--remount-ro", "/"]


def python_trees() -> list[str]:
    """Paths a worker needs to run this interpreter and import this package -- nothing more."""
    package_root = Path(__file__).resolve().parents[2]
    trees = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)}
    trees.update(str(package_root / package) for package in ("core", "filters"))  # a worker imports only these
    for entry in sys.path:
        if entry and "site-packages" in entry and os.path.isdir(entry):
            trees.add(entry)
    return sorted(trees)


def worker_command(lang: str, isolation: str) -> tuple[list[str], dict[str, str] | None]:
    """The command line and environment that start one sandboxed worker for ``lang``."""
    package_root = str(Path(__file__).resolve().parents[2])
    inner = [sys.executable, "-m", "filters.render.worker", lang]
    if isolation == NAMESPACES:
        host_uid = sandbox_host_uid()
        trees = python_trees()
        sources, launch = None, []
        if host_uid is not None:
            from . import launch as launcher

            shown = shown_paths(trees)
            sources = {path: launcher.staged(i) for i, path in enumerate(shown)}
            launch = [sys.executable, "-I", "-S", launcher.__file__, json.dumps({"uid": host_uid, "trees": shown})]
        cover_proc = host_uid is None and os.geteuid() == 0
        cmd = [*launch, *bwrap_prefix(shutil.which("bwrap"), trees, cover_proc, sources),
               "--setenv", "PYTHONPATH", package_root, "--setenv", "VINCI_PID_NAMESPACE", "1", "--chdir", "/", *inner]
        return cmd, {"PATH": SAFE_ENV["PATH"]}
    env = {**SAFE_ENV, "PYTHONPATH": package_root, "HOME": "/tmp", "VINCI_AUDIT_HOOK": "1"}
    return inner, env


class ProcessCage:
    """Cgroups that hold one worker and everything it spawns.

    The pids controller caps how many tasks it may hold (a fork bomb stalls at the cap) and lets
    ``kill_all`` end every process the worker made, even ones that left its process group; the
    memory controller caps what all of them hold together (Chromium's renderers included, whose
    ArrayBuffers live outside V8's heap limit), so the kernel kills inside the cage, not the host.
    It also counts the CPU time of everything inside (cgroup v1 ``cpuacct``, v2 ``cpu.stat``): the
    pool reads it around each request, so a sample's cost includes the processes it does not wait for
    (Chromium's renderer and browser processes). Falls back to nothing where no writable cgroup
    hierarchy exists.
    """

    def __init__(self, pids_max: int, memory_max: int | None = None):
        self.paths: list[Path] = []
        self.memory_limited = False
        name = f"vinci-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for root, files in _cgroup_roots(memory_max is not None):
            try:
                path = root / name
                path.mkdir()
            except OSError:
                continue
            try:
                if "pids.max" in files:
                    (path / "pids.max").write_text(str(pids_max))
                if memory_max is not None:
                    for limit in files & {"memory.max", "memory.limit_in_bytes"}:
                        (path / limit).write_text(str(memory_max))
                        self.memory_limited = True
                self.paths.append(path)
            except OSError:
                path.rmdir()

    @property
    def path(self) -> Path | None:
        return self.paths[0] if self.paths else None

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by every process that was ever in the cage; ``None`` where no
        hierarchy counts it."""
        for path in self.paths:
            try:
                if (path / "cpuacct.usage").exists():
                    return int((path / "cpuacct.usage").read_text()) / 1e9
                if (path / "cpu.stat").exists():
                    for line in (path / "cpu.stat").read_text().splitlines():
                        if line.startswith("usage_usec "):
                            return int(line.split()[1]) / 1e6
            except (OSError, ValueError):
                continue
        return None

    def wrap(self, cmd: list[str]) -> list[str]:
        """Prefix a command so it enters the cages before it execs (no window to escape)."""
        if not self.paths:
            return cmd
        enter = " && ".join(f'echo $$ > "${i}/cgroup.procs"' for i in range(len(self.paths)))
        return ["/bin/sh", "-c", f'{enter} && shift {len(self.paths) - 1} && exec "$@"', *map(str, self.paths), *cmd]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self.paths:
            try:
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(found)

    def kill_all(self) -> None:
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        if not self.paths:
            return
        self.kill_all()
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                log.warning("could not remove cgroup %s", path)


def _cgroup_roots(memory: bool) -> list[tuple[Path, frozenset[str]]]:
    """Writable hierarchies for the cage and the files each offers: cgroup v1's ``pids``, ``memory``
    and ``cpuacct`` (accounting only), or a v2 root that delegates those controllers (where every
    group has ``cpu.stat``)."""
    roots = []
    v1_pids, v1_memory, v1_cpuacct = (Path("/sys/fs/cgroup") / name for name in ("pids", "memory", "cpuacct"))
    if (v1_pids / "cgroup.procs").exists():
        roots.append((v1_pids, frozenset({"pids.max"})))
    if memory and (v1_memory / "cgroup.procs").exists():
        roots.append((v1_memory, frozenset({"memory.limit_in_bytes"})))
    if roots and (v1_cpuacct / "cpuacct.usage").exists():
        roots.append((v1_cpuacct, frozenset({"cpuacct.usage"})))
    if roots:
        return roots
    v2 = Path("/sys/fs/cgroup")
    try:
        controllers = set((v2 / "cgroup.subtree_control").read_text().split())
    except OSError:
        return []
    files = {"pids.max"} if "pids" in controllers else set()
    if memory and "memory" in controllers:
        files.add("memory.max")
    return [(v2, frozenset(files))] if files else []


def install_audit_hook() -> None:
    """Fallback guard for the rlimits level: refuse sockets and process spawning in this process."""
    blocked = {"socket.connect", "socket.bind", "socket.sendto", "subprocess.Popen", "os.system", "os.exec",
               "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "pty.spawn"}

    def hook(event: str, _args) -> None:
        if event in blocked:
            raise PermissionError(f"{event} is not allowed while rendering")

    sys.addaudithook(hook)
