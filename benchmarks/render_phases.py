"""Where a sample's CPU goes, phase by phase and process by process, in the real sandboxed worker.

    python benchmarks/render_phases.py [--langs python,latex] [--n 30] [--probes]

The worker is started exactly as the pool starts it (bubblewrap, the launcher as root, its cgroup cage),
only its entry point wraps the functions a sample passes through with CPU timers (``time.process_time``
of the process that runs them; a child's whole life from ``wait4``). A forked sample's timers travel back
in its reply header, the worker's in its own; the pool's checks ignore the extra key. Prints the median
per sample of each phase, in ms of CPU (and wall where it differs), and the cage's CPU per sample.

Phases: ``worker.*`` run in the warm worker, ``sample.*`` in a forked Python sample (after its fork),
``middle+exits`` is what ``wait4`` counted for the sample's process tree beyond the sample's own time at
its reply (the second fork's middle process, both exits, the PID namespace's teardown); for LaTeX
``helper.fork+jail+pdflatex+exit`` is the whole life of pdflatex's process; ``--probes`` adds, per sample,
the same pdflatex without the jail and ``/bin/true`` with and without it, which splits that figure.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.languages import LANGUAGES  # noqa: E402
from filters.render import pool as pool_module  # noqa: E402
from filters.render import sandbox  # noqa: E402
from filters.render.protocol import read_frame, write_frame  # noqa: E402
from sources.base import open_source  # noqa: E402

PROFILED_WORKER = r"""
import os, resource, struct, sys, time
from filters.render import base, jail, sandbox, worker
PHASES = {}
def add(name, cpu, wall):
    c, w = PHASES.get(name, (0.0, 0.0))
    PHASES[name] = (c + cpu, w + wall)
def timed(owner, attr, name):
    inner = getattr(owner, attr)
    def wrapper(*args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            add(name, time.process_time() - c, time.perf_counter() - w)
    setattr(owner, attr, wrapper)
IN_SAMPLE = [False]
def forking(real, name):
    def fork():
        c, w = time.process_time(), time.perf_counter()
        got = real()
        pid = got[0] if isinstance(got, tuple) else got
        if pid == 0:
            if not IN_SAMPLE[0]:
                IN_SAMPLE[0] = True
                PHASES.clear()
        else:
            add(("sample." if IN_SAMPLE[0] else "worker.") + name, time.process_time() - c, time.perf_counter() - w)
        return got
    return fork
os.fork = forking(os.fork, "fork (parent side)")
if hasattr(jail, "fork_into_namespaces"):  # absent before the one-fork change: the script runs on older trees too
    jail.fork_into_namespaces = forking(jail.fork_into_namespaces, "clone into namespaces (parent side)")
lang, PROBES = sys.argv[1], sys.argv[2:] == ["probes"]
for owner, attr, name in [
        (jail, "new_namespaces", "sample.user/mount/ipc/pid/net namespaces"), (jail, "private_tmp", "sample.private /tmp, /dev, /proc"),
        (jail, "drop_privileges", "sample.capabilities + seccomp"), (worker, "write_support_files", "sample.support files"),
        (worker, "apply_sample_limits", "sample.rlimits"), (worker, "normalize_png", "worker.normalize_png (decode, checks)"),
        (worker.Worker, "sweep", "worker.sweep"), (worker.Worker, "run_sample", "worker.run_sample (all)")]:
    timed(owner, attr, name)
real_wait4 = os.wait4
def wait4(pid, options):
    got = real_wait4(pid, options)
    add("child life (wait4)", got[2].ru_utime + got[2].ru_stime, 0.0)
    return got
os.wait4 = wait4
real_write = worker.write_frame
def write_frame(fd, header, payload=b""):
    if IN_SAMPLE[0] and header.get("ok") is not None and "seq" not in header:
        add("sample.all until its reply", time.process_time(), 0.0)
        add("sample.minor page faults (count, not ms)", resource.getrusage(resource.RUSAGE_SELF).ru_minflt / 1000, 0.0)
    header = {**header, "phases": PHASES.copy()}
    real_write(fd, header, payload)
    if "seq" in header:
        PHASES.clear()
worker.write_frame = write_frame
real_reply = worker.reply_payload
def reply_payload(header, payload):
    if isinstance(header, dict):
        for name, (c, w) in header.pop("phases", {}).items():
            add(name, c, w)
    return real_reply(header, payload)
worker.reply_payload = reply_payload
if lang == "python":
    from filters.render import python
    from PIL import Image
    timed(python.PythonRenderer, "render", "sample.render (all)")
    timed(python.PythonRenderer, "_draw", "sample.draw + encode")
    timed(Image.Image, "save", "sample.PNG encode")
else:
    from filters.render import latex
    from PIL import Image
    timed(latex.LatexRenderer, "render", "worker.render (all)")
    timed(latex.LatexRenderer, "_rasterise", "worker.pdfium raster")
    timed(Image.Image, "save", "worker.PNG encode")
    real_run = latex.run_limited
    def children_cpu():
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime
    def run_limited(cmd, cwd, env, timeout_s, limits=None, jail_spec=None):
        before, c, t = children_cpu(), time.process_time(), time.perf_counter()
        done = real_run(cmd, cwd, env, timeout_s, limits, jail_spec)
        add("worker.Popen + wait (parent side)", time.process_time() - c, time.perf_counter() - t)
        add("helper.fork+jail+pdflatex+exit", children_cpu() - before, 0.0)
        if PROBES:  # the same command again without the jail, and /bin/true with and without it
            for name, probe, spec in (("probe: pdflatex again, unjailed", cmd, None),
                                      ("probe: fork+jail+exec+exit of /bin/true", ["/usr/bin/true"], jail_spec),
                                      ("probe: fork+exec+exit of /bin/true", ["/usr/bin/true"], None)):
                before = children_cpu()
                real_run(probe, cwd, env, timeout_s, limits, spec)
                add(name, children_cpu() - before, 0.0)
        return done
    latex.run_limited = run_limited
sys.argv = ["worker", lang]
worker.main()
"""


def profiled_command(lang: str, isolation: str, probes: bool = False) -> tuple[list[str], dict | None]:
    cmd, env = sandbox.worker_command(lang, isolation)
    at = cmd.index("filters.render.worker")
    return cmd[:at - 1] + ["-c", PROFILED_WORKER, lang, *(["probes"] if probes else [])], env


def profile(lang: str, n: int, probes: bool = False) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float]]:
    codes = [s.code for s in islice(open_source(LANGUAGES[lang].synthetic_source, seed=0), n + 1)]
    pool_module.worker_command = lambda lang, isolation: profiled_command(lang, isolation, probes)
    worker = pool_module.WorkerProcess(lang, sandbox.detect_isolation()).wait_ready()
    cpu: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)
    caged: list[float] = []
    try:
        for i, code in enumerate(codes):
            before = worker.cpu_seconds()
            write_frame(worker.in_fd, {"seq": i, "code": code, "timeout_s": 30, "files": {}, "blobs": [], "conventions": {}})
            header, _ = read_frame(worker.out_fd, time.monotonic() + 120)
            if i == 0:
                continue  # the first sample warms the worker, as in render_compare
            caged.append(worker.cpu_seconds() - before)
            if not header.get("ok"):
                print(f"  sample {i} failed: {header.get('kind')}: {header.get('message', '')[:120]}")
            phases = header.get("phases", {})
            sample = phases.get("sample.all until its reply", (0.0, 0.0))[0]
            if "child life (wait4)" in phases:
                life = phases.pop("child life (wait4)")[0]
                if lang == "python":
                    phases["middle+exits"] = (life - sample, 0.0)
            for name, (c, w) in phases.items():
                cpu[name].append(c * 1000)
                wall[name].append(w * 1000)
    finally:
        worker.close()
    return cpu, wall, caged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--langs", default="python,latex")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--probes", action="store_true",
                        help="LaTeX: after each sample, its pdflatex again without the jail, and /bin/true with and "
                             "without it (what the jail costs; the cage's count then includes them)")
    args = parser.parse_args()
    for lang in args.langs.split(","):
        cpu, wall, caged = profile(lang, args.n, args.probes)
        print(f"\n{lang}: {args.n} generated samples, median per sample; the cage counted {statistics.median(caged) * 1000:.1f} ms CPU")
        print(f"  {'phase':<52} {'CPU ms':>8} {'wall ms':>8}")
        for name in sorted(cpu):
            c = statistics.median(cpu[name])
            w = statistics.median(wall[name]) if any(wall[name]) else float("nan")
            print(f"  {name:<52} {c:>8.1f} {w:>8.1f}")


if __name__ == "__main__":
    main()
