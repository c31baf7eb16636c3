"""Render throughput, three ways side by side in one run (ms per sample, one worker, sequential):

* naive -- what a user would write (and what VinciCoder's released reward code does): a fresh
  ``python`` process per chart, molecule or page (the page one launching Playwright and a
  browser), the ``cairosvg`` CLI and a plain ``pdflatex`` + ``pdftoppm`` per picture;
* vinci -- the sandboxed warm pool (``RenderPool``, 1 worker);
* floor -- the same renderer in this process, unsandboxed: the cost that cannot be removed.

    python benchmarks/render_throughput.py [--quick] [--json] [--langs python,svg]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.languages import LANGUAGES  # noqa: E402
from filters.render import RenderPool  # noqa: E402
from filters.render.base import normalize_png, renderer_class  # noqa: E402
from filters.render.html import LAUNCH_ARGS, chromium_executable  # noqa: E402
from filters.render.latex import PREAMBLE  # noqa: E402
from sources.base import open_source  # noqa: E402

SOURCES = {name: lang.synthetic_source for name, lang in LANGUAGES.items()}  # language → its generator
NAIVE_PY = ("import sys, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.show = lambda *a, **k: None\n"
            "code = open(sys.argv[1]).read()\nexec(compile(code, sys.argv[1], 'exec'), {'__name__': '__main__'})\n"
            "plt.gcf().savefig(sys.argv[2], dpi=100)\n")
NAIVE_HTML = ("import sys\nfrom playwright.sync_api import sync_playwright\nwith sync_playwright() as pw:\n"
              "    browser = pw.chromium.launch(executable_path={exe!r}, args={args!r})\n"
              "    page = browser.new_page(viewport={{'width': 1024, 'height': 768}})\n"
              "    page.set_content(open(sys.argv[1]).read(), wait_until='load')\n"
              "    page.screenshot(path=sys.argv[2], full_page=True)\n    browser.close()\n")
NAIVE_SMILES = ("import sys\nfrom rdkit import Chem\nfrom rdkit.Chem import Draw\n"
                "Draw.MolToFile(Chem.MolFromSmiles(open(sys.argv[1]).read().split()[0]), sys.argv[2], size=(512, 512))\n")


def samples_for(lang: str, n: int) -> list[str]:
    return [s.code for s in islice(open_source(SOURCES[lang], seed=0), n)]


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def naive(lang: str, codes: list[str], tmp: Path) -> list[float]:
    env = {**os.environ, "MPLBACKEND": "Agg"}

    def via_script(script: str, suffix: str):
        helper = tmp / f"naive_{lang}.py"
        helper.write_text(script)

        def run(code: str):
            src = tmp / f"sample{suffix}"
            src.write_text(code)
            subprocess.run([sys.executable, str(helper), str(src), str(tmp / "out.png")], cwd=tmp, env=env,
                           capture_output=True, timeout=120)
        return run

    if lang == "python":
        return timed(via_script(NAIVE_PY, ".py"), codes)
    if lang == "smiles":
        return timed(via_script(NAIVE_SMILES, ".smi"), codes)
    if lang == "svg":
        cli = str(Path(sys.executable).parent / "cairosvg")

        def run_svg(code: str):
            (tmp / "s.svg").write_text(code)
            subprocess.run([cli, str(tmp / "s.svg"), "-o", str(tmp / "out.png")], capture_output=True, timeout=120)
        return timed(run_svg, codes)
    if lang == "latex":
        def run_tex(code: str):
            doc = code if "\\documentclass" in code else PREAMBLE + "\\begin{document}\n" + code + "\n\\end{document}\n"
            (tmp / "doc.tex").write_text(doc)
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp, capture_output=True, timeout=120)
            subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", "doc.pdf", "out"], cwd=tmp, capture_output=True, timeout=120)
        return timed(run_tex, codes)
    if lang == "html":
        script = NAIVE_HTML.format(exe=chromium_executable(), args=LAUNCH_ARGS)
        return timed(via_script(script, ".html"), codes)
    raise ValueError(lang)


def vinci(lang: str, codes: list[str]) -> list[float]:
    with RenderPool(lang, workers=1, timeout_s=60) as pool:
        pool.render(codes[0])
        return timed(pool.render, codes)


def floor(lang: str, codes: list[str], tmp: Path) -> list[float]:
    renderer = renderer_class(lang)()
    renderer.setup()
    workdir = tmp / "floor"
    workdir.mkdir(exist_ok=True)
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        renderer.render(codes[0], str(workdir), 60)
        return timed(lambda c: normalize_png(renderer.render(c, str(workdir), 60), renderer.canvas), codes)
    finally:
        os.chdir(cwd)
        renderer.teardown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 samples per language instead of 20")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--langs", default=",".join(SOURCES))
    args = parser.parse_args()
    n = 5 if args.quick else 20
    rows = []
    for lang in args.langs.split(","):
        codes = samples_for(lang, n)
        with tempfile.TemporaryDirectory() as tmp:
            result = {"lang": lang, "n": n}
            for name, fn in (("naive", lambda: naive(lang, codes, Path(tmp))), ("vinci", lambda: vinci(lang, codes)),
                             ("floor", lambda: floor(lang, codes, Path(tmp)))):
                result[name] = statistics.median(fn())
            result["naive_over_vinci"] = result["naive"] / result["vinci"]
            result["vinci_over_floor"] = result["vinci"] / result["floor"]
            rows.append(result)
            print(f"  {lang}: done", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'lang':<8} {'n':>3} {'naive ms':>10} {'vinci ms':>10} {'floor ms':>10} {'naive/vinci':>12} {'vinci/floor':>12}")
    for r in rows:
        print(f"{r['lang']:<8} {r['n']:>3} {r['naive']:>10.1f} {r['vinci']:>10.1f} {r['floor']:>10.1f} "
              f"{r['naive_over_vinci']:>11.1f}x {r['vinci_over_floor']:>11.2f}x")


if __name__ == "__main__":
    main()
