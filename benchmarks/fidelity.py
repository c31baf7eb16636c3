"""Does vinci draw real code the way its dataset drew it? (code, reference picture) pairs rendered
through vinci's sandboxed pool and compared with the dataset's own picture.

Pairs come from a folder in a benchmark's layout -- a code file and its picture under the same stem
(ChartMimic's ``ori_500``: ``NAME.py`` + ``NAME.pdf``; Design2Code's ``testset_final``: ``N.html`` +
``N.png``; a TikZ collection's ``NAME.tex`` + ``NAME.png``, its ``NAME.svg`` sharing the picture;
molecules as ``NAME.smi`` + ``NAME.png``) --, from a CSV naming each code and its picture, or from a
source spec whose samples carry their picture (``hub:ID``). A PDF reference is rasterised with poppler's
``pdftoppm`` at the DPI vinci draws its language at (a chart 100, a LaTeX page 200). Printed per
language: render rate, failure reasons, the pHash distance to the reference (bits of 64; the build's
``source_phash_distance``) and SSIM; ``--sheet`` draws the worst pairs side by side (reference | vinci).

Render conventions: a Hub source's samples carry their dataset's (``sources/hub/registry.py``); a
folder takes a registry entry's with ``--like DATASET_ID`` and single ones with ``--render
LANG.NAME=VALUE``; ``--vinci-defaults`` renders as vinci did before conventions existed (no files
beside, no conventions: the way to measure an older checkout, ``PYTHONPATH=/that/checkout``).

    python benchmarks/fidelity.py /data/chartmimic/ori_500 --like ChartMimic/ChartMimic [-n 100] [--sheet worst.png]
    python benchmarks/fidelity.py /data/design2code/testset_final --like SALT-NLP/Design2Code-hf --json d2c.json
    python benchmarks/fidelity.py hub:SALT-NLP/Design2Code-hf -n 100
    python benchmarks/fidelity.py /data/janosh_tikz                      # NAME.tex / NAME.svg + NAME.png
    python benchmarks/fidelity.py /data/ocmr/Data/Patent/smiles_map.csv --lang smiles --code-column Smiles --image-column ImagePath
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: another checkout can be measured

from core.languages import language_of_path  # noqa: E402
from filters.distance import flat_rgb, phash_distance  # noqa: E402

PICTURES = (".png", ".jpg", ".jpeg", ".pdf")
PDF_DPI = 100  # vinci draws a chart at 100 DPI ...
LANG_PDF_DPI = {"latex": 200}  # ... and a LaTeX page at 200 (``filters/render/latex.py``)
WITHIN = 8


@dataclass
class Pair:
    ref: str
    lang: str
    code: str
    picture: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    conventions: dict | None = None


def rasterise_pdf(path: Path, cache: Path, dpi: int = PDF_DPI) -> bytes:
    out = cache / (path.stem + ("" if dpi == PDF_DPI else f"@{dpi}") + ".png")
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(path), str(out.with_suffix(""))],
                       check=True, capture_output=True, timeout=120)
    return out.read_bytes()


def folder_pairs(folder: Path, cache: Path, beside: bool) -> list[Pair]:
    """Code files with a picture of the same stem; with ``beside``, the other files of the folder that a
    page or script names (``rick.jpg``) travel with it."""
    names = sorted(os.listdir(folder))
    stems = {Path(n).stem for n in names if language_of_path(n) is not None}
    others = [n for n in names if language_of_path(n) is None and Path(n).stem not in stems]  # not a pair's picture
    pairs = []
    for name in names:
        lang = language_of_path(name)
        if lang is None:
            continue
        stem = Path(name).stem
        picture = next((folder / (stem + ext) for ext in PICTURES if (folder / (stem + ext)).is_file()), None)
        if picture is None:
            continue
        code = (folder / name).read_text(encoding="utf-8", errors="replace")
        data = rasterise_pdf(picture, cache, LANG_PDF_DPI.get(lang, PDF_DPI)) if picture.suffix == ".pdf" else picture.read_bytes()
        files = {n: (folder / n).read_bytes() for n in others if beside and named_in(n, code)}
        pairs.append(Pair(name, lang, code, data, files))
    return pairs


def table_pairs(table: Path, lang: str, code_column: str, image_column: str) -> list[Pair]:
    """Rows of a CSV naming each code and its picture (OCMR's ``Data/Patent/smiles_map.csv``: ``Key,Smiles,
    ImagePath``), the picture's path relative to the table; a missing column or picture fails naming it."""
    import csv

    with open(table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pairs = []
    for line, row in enumerate(rows, start=2):
        if code_column not in row or image_column not in row:
            raise SystemExit(f"error: {table}: no column {code_column!r} or {image_column!r} (it has: {', '.join(row)})")
        picture = (table.parent / row[image_column]).resolve()
        if not picture.is_relative_to(table.parent.resolve()) or not picture.is_file():
            raise SystemExit(f"error: {table}, line {line}: no picture {row[image_column]!r} beside the table")
        pairs.append(Pair(Path(row[image_column]).stem, lang, row[code_column].strip(), picture.read_bytes()))
    return pairs


def named_in(name: str, code: str) -> bool:
    return name in code and re.search(r"(?<![\w./-])" + re.escape(name) + r"(?![\w-])", code) is not None


def source_pairs(spec: str, n: int) -> list[Pair]:
    from itertools import islice

    from sources.base import open_source

    pairs = []
    for sample in islice((s for s in open_source(spec) if s.image), n):
        pairs.append(Pair(sample.source_ref, sample.lang, sample.code, sample.image, dict(sample.meta.get("files") or {}),
                          sample.meta.get("render")))
    return pairs


def ssim(reference: bytes, render: bytes) -> float:
    import numpy as np
    from skimage.metrics import structural_similarity

    a = flat_rgb(reference).convert("L")
    b = flat_rgb(render).convert("L").resize(a.size)
    return float(structural_similarity(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32), data_range=255.0))


def failure_reason(kind: str, message: str) -> str:
    """An error kind, and for a runtime error the exception's name (``runtime: ModuleNotFoundError``)."""
    head = message.strip().split(":", 1)[0] if message else ""
    if kind == "runtime" and re.fullmatch(r"[A-Za-z_][\w.]*", head or "-"):
        return f"{kind}: {head}"
    return kind


def render_pairs(pairs: list[Pair], workers: int, timeout_s: float, conventions: dict | None) -> list:
    from filters.render import RenderPool

    results: list = [None] * len(pairs)
    by_lang: dict[str, list[int]] = {}
    for i, pair in enumerate(pairs):
        by_lang.setdefault(pair.lang, []).append(i)
    for lang, idx in by_lang.items():
        with RenderPool(lang, workers, timeout_s=timeout_s) as pool:
            if conventions is None:
                got = pool.render_many([pairs[i].code for i in idx])
            else:
                got = pool.render_many([pairs[i].code for i in idx], files=[pairs[i].files for i in idx],
                                       conventions=[{**(pairs[i].conventions or {}), **conventions.get(lang, {})} or None
                                                    for i in idx])
            for i, result in zip(idx, got):
                results[i] = result
    return results


def measure(pairs: list[Pair], results: list) -> list[dict]:
    rows = []
    for pair, result in zip(pairs, results):
        row = {"ref": pair.ref, "lang": pair.lang, "ok": result.ok, "ms": round(result.elapsed_s * 1000, 1)}
        if result.ok:
            row.update(phash=phash_distance(pair.picture, result.png), ssim=round(ssim(pair.picture, result.png), 4),
                       size=[result.width, result.height], ref_size=list(flat_rgb(pair.picture).size))
        else:
            row.update(reason=failure_reason(result.error_kind, result.message), error=result.first_line())
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| lang | pairs | render rate | pHash ≤ 8 (of renders) | pHash median | p90 | SSIM median | ms median | failures |",
             "|---|---|---|---|---|---|---|---|---|"]
    for lang in sorted({r["lang"] for r in rows}):
        mine = [r for r in rows if r["lang"] == lang]
        ok = [r for r in mine if r["ok"]]
        dist = sorted(r["phash"] for r in ok)
        fails = Counter(r["reason"] for r in mine if not r["ok"])
        p90 = dist[int(0.9 * (len(dist) - 1))] if dist else float("nan")
        lines.append(f"| {lang} | {len(mine)} | {len(ok)}/{len(mine)} ({len(ok) / len(mine):.1%}) | "
                     f"{sum(d <= WITHIN for d in dist)}/{len(ok)} ({sum(d <= WITHIN for d in dist) / max(1, len(ok)):.1%}) | "
                     f"{statistics.median(dist) if dist else float('nan'):g} | {p90:g} | "
                     f"{statistics.median(r['ssim'] for r in ok) if ok else float('nan'):.3f} | "
                     f"{statistics.median(r['ms'] for r in mine):.0f} | "
                     + (", ".join(f"{k} ×{v}" for k, v in fails.most_common()) or "–") + " |")
    return "\n".join(lines)


def worst_sheet(pairs: list[Pair], results: list, rows: list[dict], k: int, path: str) -> None:
    """The ``k`` farthest renders beside their references, each scaled to 320 px high."""
    from PIL import Image, ImageDraw

    ranked = sorted((i for i, r in enumerate(rows) if r["ok"]), key=lambda i: -rows[i]["phash"])[:k]
    tiles = []
    for i in ranked:
        ref, got = flat_rgb(pairs[i].picture), flat_rgb(results[i].png)
        scaled = [im.resize((max(1, round(im.width * 320 / im.height)), 320)) for im in (ref, got)]
        tile = Image.new("RGB", (scaled[0].width + scaled[1].width + 12, 344), "white")
        tile.paste(scaled[0], (0, 24))
        tile.paste(scaled[1], (scaled[0].width + 12, 24))
        ImageDraw.Draw(tile).text((4, 4), f"{pairs[i].ref}  pHash {rows[i]['phash']}  SSIM {rows[i]['ssim']:.2f}  "
                                          "(reference | vinci)", fill="black")
        tiles.append(tile)
    if not tiles:
        return
    sheet = Image.new("RGB", (max(t.width for t in tiles), sum(t.height for t in tiles)), "white")
    y = 0
    for tile in tiles:
        sheet.paste(tile, (0, y))
        y += tile.height
    sheet.save(path)


def chosen_conventions(like: str | None, pairs: list[str]) -> dict[str, dict]:
    """lang → conventions: a registry entry's, then ``LANG.NAME=VALUE`` overrides."""
    import yaml

    from sources.hub.registry import DATASETS

    if like and like not in DATASETS:
        raise SystemExit(f"error: --like {like}: no such registry entry; known: {', '.join(DATASETS)}")
    chosen = {lang: dict(c) for lang, c in (DATASETS[like].render if like else {}).items()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        lang, dot, name = key.partition(".")
        if not sep or not dot:
            raise SystemExit(f"error: --render {pair!r} is not LANG.NAME=VALUE")
        chosen.setdefault(lang, {})[name] = yaml.safe_load(value)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="a folder of code + picture pairs, a CSV naming them, or a source spec (hub:ID)")
    parser.add_argument("--lang", help="a CSV's language")
    parser.add_argument("--code-column", help="a CSV's column of code")
    parser.add_argument("--image-column", help="a CSV's column of picture paths (relative to the CSV)")
    parser.add_argument("-n", type=int, default=0, help="first N pairs (0: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--vinci-defaults", action="store_true",
                        help="render with vinci's own defaults: no conventions, no files beside (the version before them)")
    parser.add_argument("--like", help="render with the conventions of this Hub registry entry (a dataset id)")
    parser.add_argument("--render", action="append", default=[], metavar="LANG.NAME=VALUE",
                        help="one render convention (repeatable; YAML value), over --like's")
    parser.add_argument("--json", help="write every pair's figures here")
    parser.add_argument("--sheet", help="draw the worst pairs side by side into this PNG")
    parser.add_argument("--worst", type=int, default=8)
    parser.add_argument("--cache", help="keep rasterised PDF references in this folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vinci-fidelity-") as tmp:
        cache = Path(args.cache or tmp)
        cache.mkdir(parents=True, exist_ok=True)
        if args.data.endswith(".csv"):
            if not (args.lang and args.code_column and args.image_column):
                raise SystemExit("error: a table of pairs needs --lang, --code-column and --image-column")
            pairs = table_pairs(Path(args.data), args.lang, args.code_column, args.image_column)
        elif os.path.isdir(args.data):
            pairs = folder_pairs(Path(args.data), cache, beside=not args.vinci_defaults)
        else:
            pairs = source_pairs(args.data, args.n or 1000)
    if args.n:
        pairs = pairs[:args.n]
    start = time.monotonic()
    conventions = None if args.vinci_defaults else chosen_conventions(args.like, args.render)
    results = render_pairs(pairs, args.workers, args.timeout, conventions)
    rows = measure(pairs, results)
    print(f"{len(pairs)} pairs from {args.data} in {time.monotonic() - start:.0f} s")
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.sheet:
        worst_sheet(pairs, results, rows, args.worst, args.sheet)


if __name__ == "__main__":
    main()
