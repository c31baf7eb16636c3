"""Scoring speed of ``vinci eval --benchmark`` beside the official way of running, and agreement figures.

    python benchmarks/eval_benchmarks.py [--repeat 2] [--workers 2]

Prints, in one run on this machine:

1. pairs/s per benchmark, scoring the fixture pairs (tests/fixtures/benchmarks/) through warm
   sandboxed pools, beside each benchmark's official way of running, emulated here (our code, written
   from how their evaluators run) on the same pairs (ChartMimic, Design2Code: the first 3), unsandboxed:

   * ChartMimic: a fresh interpreter per metric and per side (4 metrics x 2 sides), as its evaluators
     call ``python3 FILE`` for each (the plain script, without their tracing code: if anything too fast);
   * ChemDraw: RDKit in this process, as MolScribe's evaluator scores (parse, canonical SMILES with and
     without cis/trans, Morgan Tanimoto; one process, where MolScribe may spread it over a pool); vinci
     also draws each answer in the sandbox for the contact sheet;
   * UniSVG: cairosvg in this process at 336 x 336 and SSIM, as UniSVG's ``evaluation.py`` (its PSNR too;
     LPIPS and CLIP left out on both sides);
   * Design2Code: a fresh interpreter launching a fresh browser for each of the 6 screenshots of a pair
     (``os.system("python3 screenshot_single.py ...")``), Playwright on the same Chromium, on the fixture
     pages only;
   * Image2Latex: HELM's way: a fresh ``pdflatex`` for the answer and one for the reference (HELM
     recompiles the structure into the target by default), ``pdftoppm`` at 200 DPI (what ``pdf2image``
     calls), then EMS with ``ems(..., shortcuts=False)``: ``cv2.EMD`` at every patch pair, as HELM's
     recursion does; the EMS values of both columns are compared.

   Where the official way runs in-process and unsandboxed (ChemDraw, UniSVG) it does less per answer than
   vinci's sandboxed pools (no sandbox round trip, no isolation); ChemDraw's is the faster, and the table says so;
2. ChartMimic's colour pairing: the official search over every ordered selection against the
   assignment solver, on k random colours a side (same optimum asserted);
3. agreement with the official evaluators' stored numbers, per metric: pairs, largest difference (EMS: its
   fixture pictures, scored directly).

Needs OpenCV (``cv2.EMD``), ``pdflatex`` and ``pdftoppm``.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from filters.render.pool import RenderService  # noqa: E402
from training.benchmarks.colors import best_total, best_total_brute_force  # noqa: E402
from training.benchmarks.registry import get  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "benchmarks"


def chartmimic_pairs():
    bench = get("chartmimic")
    gold = {s.id: s for s in bench.load(str(FIX / "chartmimic" / "direct_600"))}
    answers = sorted((FIX / "chartmimic" / "answers").glob("*.py"))
    return bench, [gold[a.stem.split("__")[0]] for a in answers], [a.read_text() for a in answers], [a.stem for a in answers]


def json_pairs(name: str, data: str):
    bench = get(name)
    gold = {s.id: s for s in bench.load(str(FIX / name / data))}
    pairs = json.loads((FIX / name / "answers.json").read_text())
    keys = [(kind, k) for kind, by in pairs.items() for k in by]
    return bench, [gold[k] for _, k in keys], [pairs[kind][k] for kind, k in keys], [f"{kind}/{k}" for kind, k in keys]


def design2code_pairs():
    bench = get("design2code")
    gold = {s.id: s for s in bench.load(str(ROOT / "tests" / "fixtures" / "real" / "design2code"))}
    answers = sorted((FIX / "design2code" / "answers").glob("*.html"))
    return bench, [gold[a.stem.split("__")[0]] for a in answers], [a.read_text() for a in answers], [a.stem for a in answers]


SCREENSHOT_ONE = """
import sys
from playwright.sync_api import sync_playwright
from filters.render.html import chromium_executable
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium_executable(), args=["--no-sandbox"])
    page = browser.new_page()
    page.goto("file://" + sys.argv[1])
    page.screenshot(path=sys.argv[2], full_page=True, animations="disabled")
    browser.close()
"""


def fresh_browsers(pages: list[str], shots_per_pair: int = 6) -> float:
    """Pairs/s when every screenshot starts its own interpreter and browser (Design2Code's way)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, page in enumerate(pages):
            path = Path(tmp) / f"p{i}.html"
            path.write_text(page, encoding="utf-8")
            for _ in range(shots_per_pair):
                done = subprocess.run([sys.executable, "-c", SCREENSHOT_ONE, str(path), str(Path(tmp) / f"p{i}.png")],
                                      cwd=ROOT, capture_output=True, text=True, timeout=120)
                if done.returncode:
                    raise RuntimeError(f"screenshot failed: {done.stderr[-300:]}")
        return len(pages) / (time.perf_counter() - start)


def recoloured(code: str) -> str:
    """The reference with its first named colour changed: an answer whose EMS needs real transport."""
    return re.sub(r"\b(blue|red|orange)\b", lambda m: {"blue": "green", "red": "violet", "orange": "teal"}[m.group()], code, count=1)


def image2latex_pairs():
    bench = get("image2latex")
    samples = bench.load(str(FIX / "image2latex"))
    return bench, samples + samples, [s.reference for s in samples] + [recoloured(s.reference) for s in samples]


def helm_compile(code: str, tmp: Path, name: str) -> bytes:
    """HELM's way to a picture: its document, a fresh pdflatex, pdftoppm at 200 DPI (pdf2image's default)."""
    from training.benchmarks.image2latex import helm_document

    (tmp / f"{name}.tex").write_text(helm_document(code), encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=tmp,
                   capture_output=True, timeout=120, check=True)
    subprocess.run(["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-singlefile", f"{name}.pdf", name], cwd=tmp,
                   capture_output=True, timeout=120, check=True)
    return (tmp / f"{name}.ppm").read_bytes()


def helm_way(samples, codes) -> tuple[float, list[float]]:
    """Pairs/s and EMS values, compiling answer and reference afresh and solving every patch pair."""
    from training.benchmarks.ems import ems
    from training.benchmarks.image2latex import helm_crop

    values = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, (sample, code) in enumerate(zip(samples, codes)):
            helm_compile(sample.reference, Path(tmp), f"r{i}")
            buffer = io.BytesIO()
            helm_crop(helm_compile(code, Path(tmp), f"a{i}")).save(buffer, format="PNG")
            values.append(ems(buffer.getvalue(), sample.image, shortcuts=False))
        return len(codes) / (time.perf_counter() - start), values


def molscribe_way(samples, codes) -> float:
    """Pairs/s scoring in this process with RDKit, as MolScribe's evaluator does: both sides parsed and
    canonicalised with and without cis/trans, Tanimoto of Morgan (r=2, 2,048 bits) fingerprints."""
    from rdkit import Chem, DataStructs, RDLogger
    from rdkit.Chem import AllChem

    RDLogger.DisableLog("rdApp.*")

    def canonical(smiles: str, cistrans: bool) -> tuple[str, object]:
        mol = Chem.MolFromSmiles(smiles if cistrans else smiles.replace("/", "").replace("\\", ""))
        return (Chem.MolToSmiles(mol), mol) if mol is not None else ("", None)

    scored = []
    start = time.perf_counter()
    for sample, code in zip(samples, codes):
        (gold, gold_mol), (answer, mol) = canonical(sample.reference, True), canonical(code, True)
        similarity = 0.0 if mol is None else DataStructs.TanimotoSimilarity(
            AllChem.GetMorganFingerprintAsBitVect(gold_mol, 2, nBits=2048), AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048))
        scored.append((gold == answer, canonical(sample.reference, False)[0] == canonical(code, False)[0], similarity))
    return len(scored) / (time.perf_counter() - start)


def unisvg_way(samples, codes) -> float:
    """Pairs/s rasterising with cairosvg in this process at 336 x 336 and taking SSIM and PSNR, as UniSVG's
    ``evaluation.py`` does (an answer cairosvg rejects counts as not executed)."""
    import cairosvg
    import numpy as np
    from PIL import Image

    from training.benchmarks.unisvg import SIZE, rgb, ssim

    scored = []
    start = time.perf_counter()
    for sample, code in zip(samples, codes):
        try:
            png = cairosvg.svg2png(bytestring=code.encode(), output_width=SIZE, output_height=SIZE)
        except Exception:  # noqa: BLE001 - officially any failure is "not executed"
            continue
        picture = Image.open(io.BytesIO(png)).convert("RGBA")
        white = Image.new("RGBA", picture.size, "white")
        answer, target = np.asarray(Image.alpha_composite(white, picture).convert("RGB")), rgb(sample.image)
        error = np.mean((target.astype(np.float64) - answer) ** 2)
        scored.append((ssim(target, answer), 10 * np.log10(255 ** 2 / error) if error else float("inf")))
    return len(codes) / (time.perf_counter() - start)


def ems_agreement() -> None:
    from training.benchmarks.ems import ems

    official = json.loads((FIX / "ems" / "official.json").read_text())["pairs"]
    target = (FIX / "ems" / "target.png").read_bytes()
    diffs = [abs(ems((FIX / "ems" / f"{k}.png").read_bytes(), target) - v) for k, v in official.items()]
    print(f"{'image2latex':<11} {'ems':<18} {len(diffs):>5} {max(diffs):>10.2e}")


def timed_scores(bench, samples, codes, service, repeat: int):
    bench.score(samples[:1], codes[:1], service)  # pools warm
    start = time.perf_counter()
    for _ in range(repeat):
        results = bench.score(samples, codes, service)
    return len(samples) * repeat / (time.perf_counter() - start), results


def fresh_interpreters(codes: list[str], runs_per_pair: int = 8) -> float:
    """Pairs/s when every metric of every side starts its own interpreter (the official way)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, code in enumerate(codes):
            path = Path(tmp) / f"s{i}.py"
            path.write_text("import matplotlib\nmatplotlib.use('Agg')\n" + code)
            for _ in range(runs_per_pair):
                subprocess.run([sys.executable, str(path)], cwd=tmp, capture_output=True, timeout=120)
        return len(codes) / (time.perf_counter() - start)


def pairing_table() -> None:
    rng = random.Random(0)
    print("\nChartMimic colour pairing, k colours a side: official search vs assignment solver")
    print(f"{'k':>3} {'orderings':>10} {'search s':>9} {'solver ms':>10} {'same optimum':>13}")
    for k in (5, 6, 7, 8, 9):
        a = ["#%06X" % rng.randrange(1 << 24) for _ in range(k)]
        b = ["#%06X" % rng.randrange(1 << 24) for _ in range(k)]
        t = time.perf_counter()
        slow = best_total_brute_force(a, b)
        t_slow = time.perf_counter() - t
        t = time.perf_counter()
        fast = best_total(a, b)
        t_fast = time.perf_counter() - t
        orderings = 1
        for i in range(k):
            orderings *= k - i
        print(f"{k:>3} {orderings:>10} {t_slow:>9.2f} {1000 * t_fast:>10.2f} {str(abs(slow - fast) < 1e-9):>13}")


def agreement(name: str, keys: list[str], results, official: dict, metrics: tuple[str, ...]) -> None:
    for metric in metrics:
        diffs = [abs(m[metric] - official[k][metric]) for k, (m, _p, _e) in zip(keys, results)
                 if metric in official[k] and metric in m]
        print(f"{name:<11} {metric:<18} {len(diffs):>5} " + (f"{max(diffs):>10.2e}" if diffs else f"{'n/c':>10}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    load = os.getloadavg()
    with RenderService(workers=args.workers, timeout_s=30) as service:
        cm, cm_samples, cm_codes, cm_keys = chartmimic_pairs()
        cm_rate, cm_results = timed_scores(cm, cm_samples, cm_codes, service, args.repeat)
        official_rate = fresh_interpreters(cm_codes[:3])
        rows.append(("chartmimic", cm_rate, official_rate, "fresh interpreter per metric and side (8 a pair), unsandboxed"))
        cd, cd_samples, cd_codes, cd_keys = json_pairs("chemdraw", "")
        cd_rate, cd_results = timed_scores(cd, cd_samples, cd_codes, service, args.repeat)
        rows.append(("chemdraw", cd_rate, molscribe_way(cd_samples, cd_codes),
                     "RDKit in-process, unsandboxed (MolScribe): faster; vinci also draws each answer in the sandbox"))
        us, us_samples, us_codes, us_keys = json_pairs("unisvg", "test.json")
        us_rate, us_results = timed_scores(us, us_samples, us_codes, service, args.repeat)
        rows.append(("unisvg", us_rate, unisvg_way(us_samples, us_codes),
                     "cairosvg + SSIM/PSNR in-process, one at a time, unsandboxed (evaluation.py)"))
        dc, dc_samples, dc_codes, dc_keys = design2code_pairs()
        dc_rate, dc_results = timed_scores(dc, dc_samples, dc_codes, service, args.repeat)
        rows.append(("design2code", dc_rate, fresh_browsers(dc_codes[:3]), "fresh interpreter and browser per screenshot (6 a pair), unsandboxed"))
        il, il_samples, il_codes = image2latex_pairs()
        il_rate, il_results = timed_scores(il, il_samples, il_codes, service, args.repeat)
        helm_rate, helm_values = helm_way(il_samples, il_codes)
        gap = max(abs(m["ems"] - v) for (m, _p, _e), v in zip(il_results, helm_values))
        rows.append(("image2latex", il_rate, helm_rate, f"fresh pdflatex x2 + pdftoppm, cv2.EMD at every patch pair (HELM); "
                     f"EMS max |diff| {gap:.1e} (pictures: poppler there, pdfium here)"))
    print(f"scoring speed, {args.workers} render workers per language, pools warm; "
          f"load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (2 cores, shared)")
    print(f"{'benchmark':<11} {'vinci pairs/s':>14} {'official way pairs/s':>21} {'ratio':>7}  official way")
    for name, ours, theirs, how in rows:
        print(f"{name:<11} {ours:>14.2f} {theirs:>21.3f} {ours / theirs:>7.2f}  {how}")
    pairing_table()
    print("\nagreement with the official evaluators' stored numbers")
    print(f"{'benchmark':<11} {'metric':<18} {'pairs':>5} {'max |diff|':>10}")
    agreement("chartmimic", cm_keys, cm_results, json.loads((FIX / "chartmimic" / "official.json").read_text())["pairs"],
              ("text", "layout", "type", "color"))
    agreement("chemdraw", cd_keys, cd_results, json.loads((FIX / "chemdraw" / "expected.json").read_text())["pairs"],
              ("exact", "exact_no_cistrans", "tanimoto"))
    agreement("unisvg", us_keys, us_results, json.loads((FIX / "unisvg" / "official.json").read_text())["pairs"],
              ("executed", "ssim"))
    agreement("design2code", dc_keys, dc_results, json.loads((FIX / "design2code" / "official.json").read_text())["pairs"],
              ("block", "text", "position", "color", "clip", "score"))
    ems_agreement()


if __name__ == "__main__":
    main()
