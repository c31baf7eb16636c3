"""HTML pages per core-second at full load, two versions of vinci side by side in one run.

The 1.6M projection counts CPU, not latency: what an HTML row costs is the CPU of every process
behind its page (the Python worker, Playwright's node driver, Chromium's browser, renderer, GPU and
utility processes), and at full load every core is busy. Each version (the base ref checked out in
a temporary git worktree, and this checkout) starts a ``RenderPool("html", W)`` for each ``--workers``
count, renders ``--n`` generated pages through ``render_many`` (all workers busy), and reports, per
version and worker count, alternating ``--rounds`` times:

* pages/s (wall) and CPU ms per page (the workers' cgroups, else the ``/proc`` sum below, plus the timing process);
* pages per core-second (pages / CPU seconds), the figure the projection scales with;
* where the CPU went, by process kind (``/proc`` times of each worker's process tree, before/after);
* whether both versions drew the same bytes for every page.

    python benchmarks/html_load.py [--base REF] [--n 60] [--workers 1,2] [--rounds 2]

Runs take ~20 s each on 2 cores (a few minutes in all); the CPU of one run moves by ±10% with other jobs on
the machine, hence the rounds and the min-max column. ``--base HEAD`` gives today's table twice.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("python worker", "node driver", "browser", "renderer", "gpu-process", "utility", "other")

TIMER = r"""
import collections, hashlib, json, os, resource, sys, time
from itertools import islice
from filters.render import RenderPool
from sources.base import open_source

TICK = os.sysconf("SC_CLK_TCK")

def children():
    kids = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                kids[int(open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()[1])].append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return kids

def kind(pid):
    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    line = b" ".join(argv).decode(errors="replace")
    if "filters.render.worker" in line:
        return "python worker"
    if os.path.basename(argv[0].decode(errors="replace")) == "node":
        return "node driver"
    for name in ("renderer", "gpu-process", "utility"):
        if f"--type={name}" in line:
            return name
    if "chrom" in os.path.basename(argv[0].decode(errors="replace")) and "--type=" not in line:
        return "browser"
    return "other"

def by_kind(roots):
    kids, seen, todo = children(), {}, list(roots)
    while todo:
        pid = todo.pop()
        todo += kids[pid]
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            seen[pid] = (kind(pid), (int(fields[11]) + int(fields[12])) / TICK)
        except (OSError, IndexError, ValueError):
            pass
    return seen

def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

source, n, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
codes = [s.code for s in islice(open_source(source, seed=0), n + workers)]
with RenderPool("html", workers, timeout_s=30) as pool:
    pool.render_many(codes[:workers])  # every worker warm
    roots = [w.proc.pid for w in pool._all]
    before, cage0, own0 = by_kind(roots), sum(w.cpu_seconds() for w in pool._all), own_cpu()
    start = time.perf_counter()
    results = pool.render_many(codes[workers:])
    wall = time.perf_counter() - start
    after, cage1, own1 = by_kind(roots), sum(w.cpu_seconds() for w in pool._all), own_cpu()
    caged = all(w.cage.cpu_seconds() is not None for w in pool._all)  # else only /proc saw Chromium's processes
kinds = collections.Counter()
for pid, (name, cpu) in after.items():
    kinds[name] += cpu - before.get(pid, (name, 0.0))[1]
cpu = (cage1 - cage0 if caged else sum(kinds.values())) + own1 - own0
print(json.dumps({"wall": wall, "cpu": cpu, "kinds": dict(kinds), "host": own1 - own0,
                  "ok": sum(r.ok for r in results), "digests": [hashlib.sha256(r.png).hexdigest() for r in results]}))
"""


def run_tree(tree: Path, source: str, n: int, workers: int) -> dict:
    out = subprocess.run([sys.executable, "-c", TIMER, source, str(n), str(workers)], cwd=tree, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/local/bin:/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def source_name() -> str:
    sys.path.insert(0, str(ROOT))
    from core.languages import LANGUAGES

    return LANGUAGES["html"].synthetic_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD~1", help="git ref of the version to compare against")
    parser.add_argument("--n", type=int, default=60, help="pages per run (after one warm-up page per worker)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    source = source_name()
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-") as tmp:  # not under /tmp: a jail carries /tmp trees
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        try:
            runs: dict[tuple[str, int], list[dict]] = {}
            for _ in range(args.rounds):
                for workers in counts:
                    for name, tree in (("base", base), ("new", ROOT)):
                        runs.setdefault((name, workers), []).append(run_tree(tree, source, args.n, workers))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    report(runs, counts, args.n)


def report(runs: dict[tuple[str, int], list[dict]], counts: list[int], n: int) -> None:
    print(f"{n} generated pages per run, medians of {len(next(iter(runs.values())))} runs")
    print(f"{'version':<8} {'workers':>7} {'pages/s':>8} {'CPU ms/page':>12} {'runs min-max':>13} {'pages/core-s':>13} "
          + " ".join(f"{k[:11]:>11}" for k in KINDS) + "  ok  same bytes")
    for workers in counts:
        base_digests = runs[("base", workers)][0]["digests"]
        for name in ("base", "new"):
            got = runs[(name, workers)]
            pages_s = statistics.median(n / r["wall"] for r in got)
            per_run = [r["cpu"] / n * 1000 for r in got]
            cpu_ms, spread = statistics.median(per_run), f"{min(per_run):.0f}-{max(per_run):.0f}"
            kinds = [statistics.median(r["kinds"].get(k, 0.0) / n * 1000 for r in got) for k in KINDS]
            same = all(r["digests"] == base_digests for r in got)
            print(f"{name:<8} {workers:>7} {pages_s:>8.2f} {cpu_ms:>12.1f} {spread:>13} {1000 / cpu_ms:>13.2f} "
                  + " ".join(f"{v:>11.1f}" for v in kinds) + f"  {min(r['ok'] for r in got):>3}  {same}")
    print("(process columns: CPU ms per page by process kind, from /proc; 'other' is the sandbox's own launchers)")


if __name__ == "__main__":
    main()
