"""The render pool of two versions of vinci side by side in one run (ms per sample, one worker).

A change to the sandbox must not cost speed; this measures that claim on the same machine, in
the same minutes: the base version is checked out into a temporary git worktree, and each
language is timed alternately under both versions (``--rounds`` times, medians of all samples).
Beside wall time it reports CPU per sample where cgroup v1 ``cpuacct`` is writable: the timing
process and the workers it starts are counted in a group of their own, plus what a version's own
worker cages counted (``RenderResult.cpu_s``, where the version has it). CPU moves far less than
wall time when other jobs share the machine. ``same bytes``: how many samples gave the same picture
(SHA-256 of the PNG) or failed the same way under both versions.

    python benchmarks/render_compare.py [--base REF] [--n 20] [--rounds 2] [--langs python,html] [--folder DIR]

``--folder``: time the first N files of the language in a folder of real code (ChartMimic's ``ori_500``,
say) instead of the synthetic generators.
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
sys.path.insert(0, str(ROOT))

from core.languages import LANGS, LANGUAGES  # noqa: E402

TIMER = r"""
import hashlib, json, os, sys, time
from itertools import islice
from pathlib import Path
group = Path(f"/sys/fs/cgroup/cpuacct/vinci-bench-{os.getpid()}")
try:
    group.mkdir()
    (group / "cgroup.procs").write_text(str(os.getpid()))
except OSError:
    group = None
def used():
    return int((group / "cpuacct.usage").read_text()) / 1e9 if group else 0.0
from filters.render import RenderPool
from sources.base import open_source
lang, source, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if folder:
    from pathlib import Path
    from core.languages import language_of_path
    codes = [p.read_text() for p in sorted(Path(folder).iterdir()) if language_of_path(p.name) == lang][:n]
else:
    codes = [s.code for s in islice(open_source(source, seed=0), n)]
with RenderPool(lang, 1, timeout_s=30) as pool:
    pool.render(codes[0])
    times, ok, cpu0, caged, digests = [], 0, used(), 0.0, []
    for code in codes:
        t = time.perf_counter()
        result = pool.render(code)
        times.append((time.perf_counter() - t) * 1000)
        ok += result.ok
        digests.append(hashlib.sha256(result.png).hexdigest() if result.ok else result.error_kind)
        caged += getattr(result, "cpu_s", 0.0)
    cpu_ms = (used() - cpu0 + caged) / len(codes) * 1000 if group else None
if group:
    Path("/sys/fs/cgroup/cpuacct/cgroup.procs").write_text(str(os.getpid()))
    group.rmdir()
print(json.dumps({"ms": times, "ok": ok, "cpu_ms": cpu_ms, "digests": digests}))
"""


def time_tree(tree: Path, lang: str, n: int, folder: str = "") -> dict:
    """Time one tree's pool; the generator is named by this checkout's registry, so any base revision reads it."""
    source = LANGUAGES[lang].synthetic_source
    out = subprocess.run([sys.executable, "-c", TIMER, lang, source, str(n), folder], cwd=tree, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/local/bin:/usr/bin:/bin"}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def same_bytes(base: list, new: list) -> str:
    """How many samples rendered to the same picture (or failed the same way) under both versions."""
    if len(base) != len(new) or not base:
        return "-"
    return f"{sum(b == n for b, n in zip(base, new))}/{len(base)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD~1", help="git ref of the version to compare against")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--langs", default=",".join(LANGS))
    parser.add_argument("--folder", default="", help="time real files of this folder instead of generated ones")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-") as tmp:  # not under /tmp: a jail carries /tmp trees at a cost
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        try:
            print(f"{'lang':<8} {'base ms':>9} {'new ms':>9} {'new/base':>9} {'base CPU ms':>12} {'new CPU ms':>11} "
                  f"{'new/base':>9}  ok base/new")
            for lang in args.langs.split(","):
                runs: dict[str, list[float]] = {"base": [], "new": []}
                cpu: dict[str, list[float]] = {"base": [], "new": []}
                ok = {"base": 0, "new": 0}
                digests: dict[str, list] = {"base": [], "new": []}
                for _ in range(args.rounds):
                    for name, tree in (("base", base), ("new", ROOT)):
                        got = time_tree(tree, lang, args.n, str(Path(args.folder).resolve()) if args.folder else "")
                        runs[name] += got["ms"]
                        ok[name] += got["ok"]
                        digests[name] += got.get("digests", [])
                        if got.get("cpu_ms") is not None:
                            cpu[name].append(got["cpu_ms"])
                b, w = statistics.median(runs["base"]), statistics.median(runs["new"])
                cb, cw = (statistics.median(cpu[k]) if cpu[k] else float("nan") for k in ("base", "new"))
                print(f"{lang:<8} {b:>9.1f} {w:>9.1f} {w / b:>9.2f} {cb:>12.1f} {cw:>11.1f} {cw / cb:>9.2f}  "
                      f"{ok['base']}/{ok['new']}  {same_bytes(digests['base'], digests['new'])}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
