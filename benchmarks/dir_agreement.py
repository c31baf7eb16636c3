"""``dir:`` sources on real third-party trees: of the units that the plain tool renders, the share
that vinci also renders.

Plain tools, each a fresh process per unit: ``python script.py`` under Agg (the figure saved at the
end, as a user would check it), the ``cairosvg`` CLI, RDKit in a fresh Python, ``pdflatex`` and
headless Chromium through Playwright.

    python benchmarks/dir_agreement.py dir:/path/to/tree [--max 200] [--timeout 30]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.render import RenderService  # noqa: E402
from sources.base import open_source  # noqa: E402

PLAIN_PY = ("import sys, os, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.show = lambda *a, **k: None\nsys.argv = [sys.argv[1]]\n"
            "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), {'__name__': '__main__', '__file__': sys.argv[0]})\n"
            "nums = plt.get_fignums()\nassert nums or any(f.endswith('.png') for f in os.listdir('.')), 'no figure'\n"
            "if nums: plt.figure(nums[-1]).savefig('plain.png')\n")
PLAIN_SMILES = "import sys\nfrom rdkit import Chem\nfrom rdkit.Chem import Draw\nm = Chem.MolFromSmiles(sys.argv[1])\nassert m is not None\nDraw.MolToFile(m, 'plain.png')\n"


def plain(lang: str, code: str, files: dict, timeout: float) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (files or {}).items():
            Path(tmp, name).write_text(text)
        env = {**os.environ, "MPLBACKEND": "Agg"}
        try:
            if lang == "python":
                Path(tmp, "script.py").write_text(code)
                Path(tmp, "runner.py").write_text(PLAIN_PY)
                run = subprocess.run([sys.executable, "runner.py", "script.py"], cwd=tmp, env=env, capture_output=True, timeout=timeout)
            elif lang == "svg":
                Path(tmp, "a.svg").write_text(code)
                cli = str(Path(sys.executable).parent / "cairosvg")
                run = subprocess.run([cli, "a.svg", "-o", "plain.png"], cwd=tmp, capture_output=True, timeout=timeout)
            elif lang == "smiles":
                Path(tmp, "r.py").write_text(PLAIN_SMILES)
                run = subprocess.run([sys.executable, "r.py", code], cwd=tmp, capture_output=True, timeout=timeout)
            elif lang == "latex":
                Path(tmp, "a.tex").write_text(code if "\\documentclass" in code else
                                               "\\documentclass{standalone}\\usepackage{tikz,pgfplots}\\begin{document}" + code + "\\end{document}")
                run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "a.tex"], cwd=tmp,
                                     capture_output=True, timeout=timeout)
            else:
                return True
        except subprocess.TimeoutExpired:
            return False
        return run.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("--max", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    units = list(islice(open_source(args.source), args.max))
    with RenderService(workers=2, timeout_s=args.timeout) as service:
        ours = service.render_many([(u.lang, u.code, u.meta.get("files")) for u in units])
    plain_ok = [plain(u.lang, u.code, u.meta.get("files"), args.timeout) for u in units]
    both = sum(p and o.ok for p, o in zip(plain_ok, ours))
    by_lang = Counter(u.lang for u in units)
    print(f"{args.source}: {len(units)} units {dict(by_lang)}; plain tool renders {sum(plain_ok)}; "
          f"vinci renders {sum(o.ok for o in ours)}; of the plain tool's, vinci renders {both} "
          f"({both / max(1, sum(plain_ok)):.1%})")
    for unit, p, o in zip(units, plain_ok, ours):
        if p and not o.ok:
            print(f"  only plain: {unit.source_ref}: {o.status_line()}")


if __name__ == "__main__":
    main()
