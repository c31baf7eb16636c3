"""The render pool of two versions of vinci side by side in one run (ms per sample, one worker).

A change to the sandbox must not cost speed; this measures that claim on the same machine, in
the same minutes: the base version is checked out into a temporary git worktree, and each
language is timed alternately under both versions (``--rounds`` times, medians of all samples).

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
LANGS = ("python", "html", "svg", "latex", "smiles")
TIMER = r"""
import json, sys, time
from itertools import islice
from filters.render import RenderPool
from sources.base import open_source
SOURCES = {"python": "synthetic.charts", "html": "synthetic.html", "svg": "synthetic.svg",
           "latex": "synthetic.latex", "smiles": "synthetic.smiles"}
lang, n, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if folder:
    from pathlib import Path
    from core.languages import language_of_path
    codes = [p.read_text() for p in sorted(Path(folder).iterdir()) if language_of_path(p.name) == lang][:n]
else:
    codes = [s.code for s in islice(open_source(SOURCES[lang], seed=0), n)]
with RenderPool(lang, 1, timeout_s=30) as pool:
    pool.render(codes[0])
    times, ok = [], 0
    for code in codes:
        t = time.perf_counter()
        ok += pool.render(code).ok
        times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ms": times, "ok": ok}))
"""


def time_tree(tree: Path, lang: str, n: int, folder: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", TIMER, lang, str(n), folder], cwd=tree, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/local/bin:/usr/bin:/bin"}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
            print(f"{'lang':<8} {'base ms':>9} {'new ms':>9} {'new/base':>9}  ok base/new")
            for lang in args.langs.split(","):
                runs: dict[str, list[float]] = {"base": [], "new": []}
                ok = {"base": 0, "new": 0}
                for _ in range(args.rounds):
                    for name, tree in (("base", base), ("new", ROOT)):
                        got = time_tree(tree, lang, args.n, str(Path(args.folder).resolve()) if args.folder else "")
                        runs[name] += got["ms"]
                        ok[name] += got["ok"]
                b, w = statistics.median(runs["base"]), statistics.median(runs["new"])
                print(f"{lang:<8} {b:>9.1f} {w:>9.1f} {w / b:>9.2f}  {ok['base']}/{ok['new']}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
