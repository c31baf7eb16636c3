"""Image2Struct LaTeX, plot subset: picture -> LaTeX, scored by Earth Mover Similarity as HELM scores it.

Data (``--data``): the Hub's ``stanford-crfm/i2s-latex`` Parquet (config ``plot``: ``plot/validation-*.parquet``
or ``plot/test-*.parquet``; a ``.parquet`` file, or a folder holding them or a ``plot/`` folder of them),
columns ``image`` (the target picture), ``uuid`` (the id; HELM strips its quotes), ``category``
(``"plot"``, quoted; other categories are skipped, as HELM skips them) and ``structure`` (the reference
LaTeX, kept for the record).

Per answer, as HELM's LaTeX compiler annotator and metric do (``utils_latex.latex_to_image``,
``AnnotatedImageMetrics.ems``): numbered environments made starred and ``\\label``s removed, the body
wrapped in ``\\begin{document}``/``\\end{document}`` where missing, the answer's ``\\documentclass`` and
``\\usepackage`` lines replaced by HELM's ``article`` preamble; compiled by pdflatex and drawn at 200 DPI by
poppler's ``pdftoppm`` as ``pdf2image`` draws it (both in the sandbox's LaTeX renderer and its jail, render
convention ``rasteriser: poppler``; vinci's default pdfium draws antialiased edges differently, and an
identical answer drawn by pdfium scores ~0.94 against a poppler-drawn target); the bottom 20% of the page cut (page number) and the picture cropped to
what is not white; resized to the target's size; EMS against the target (``training.benchmarks.ems``).
An answer that does not compile scores 0 (and counts against the compile rate), as in HELM.

Departures: HELM retries a failed compile twice with guessed fixes (``$$`` around the body, a
``\\usepackage`` named after an undefined environment); here one compile decides. Packages of HELM's
preamble missing from this TeX installation are left out of it (``missing_packages``; with the
Makefile's ``texlive-science`` none is missing). Where the rows keep
the structure, HELM by default recompiles it into the target picture; here the row's picture is the
target.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Sequence

from .base import BenchmarkError, Column, Sample, image_bytes, mean_percent, parquet_rows
from .ems import ems

# HELM's preamble (utils_latex.TEX_INCLUDES): the packages, in its order
PACKAGES = ("amsmath,amssymb,amsfonts", "graphicx", "amsmath", "xcolor", "algorithm", "algorithmicx", "algpseudocode",
            "listings", "stfloats", "epstopdf", "pgfplots", "tikz", "tikz-cd", "tikz-qtree", "tikz-dependency",
            "tikz-3dplot", "tikz-network", "[flushleft]threeparttable", "adjustbox")
STARRED = ("equation", "align", "alignat", "gather", "flalign", "multline", "eqnarray", "subeqnarray", "aligneq")
BEGIN, END, CLASS = r"\begin{document}", r"\end{document}", r"\documentclass{article}"
SUBSET = "plot"
RASTER = {"rasteriser": "poppler"}  # render convention: pdf2image's pdftoppm draws the page, as in HELM
MAX_CODE = 50_000  # HELM's preamble regexes scan to the end of the line from every usepackage


@lru_cache(maxsize=1)
def missing_packages() -> tuple[str, ...]:
    """Packages of HELM's preamble this TeX installation lacks (``kpsewhich``)."""
    if shutil.which("kpsewhich") is None:
        return ()
    names = [p.split("]")[-1].split(",")[0] for p in PACKAGES]
    found = subprocess.run(["kpsewhich", *[f"{n}.sty" for n in names]], capture_output=True, text=True, timeout=60).stdout
    have = {Path(line).stem for line in found.splitlines()}
    return tuple(n for n in names if n not in have)


def preamble() -> str:
    lines = []
    for package in PACKAGES:
        options, _, name = package.rpartition("]")
        if name.split(",")[0] in missing_packages():
            continue
        lines.append(rf"\usepackage{options + ']' if options else ''}{{{name}}}")
    return "\n" + "\n".join(lines) + "\n"


def helm_document(code: str) -> str:
    """The document HELM compiles for an answer (its first try)."""
    for name in STARRED:
        code = code.replace("{" + name + "}", "{" + name + "*}")
    code = re.sub(r"\\label\{.*?\}[\t ]*(\n)?", "", code)
    if BEGIN not in code and CLASS not in code:
        code = BEGIN + code
    if END not in code:
        code = code + END
    declared = re.search(r"\\documentclass(\[.*?\])?\{.*?\}", code) or re.search(r"\\documentstyle(\[.*?\])?\{.*?\}", code)
    code = code.replace(declared.group(), CLASS) if declared else CLASS + "\n\n" + code
    code = re.sub(r"\\usepackage(\[.*?\])?\{.*\}", "", code)
    return code.replace(CLASS, CLASS + "\n" + preamble() + "\n")


def helm_crop(png: bytes):
    """The page without its bottom 20% (the page number), cropped to what is not white."""
    from PIL import Image, ImageOps

    page = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = page.size
    page = page.crop((0, 0, width, height - int(height * 0.2)))
    box = ImageOps.invert(page).getbbox()
    return page.crop(box) if box else page


class Image2Latex:
    name: ClassVar[str] = "image2latex"
    title: ClassVar[str] = "Image2Struct LaTeX (plot), EMS"
    lang: ClassVar[str] = "latex"
    columns: ClassVar[tuple[Column, ...]] = (Column("compiled", "Compile"), Column("ems", "EMS"))
    not_computed: ClassVar[dict[str, str]] = {}
    layout: ClassVar[str] = "stanford-crfm/i2s-latex Parquet, config plot (uuid, category, image, structure)"

    def load(self, data: str) -> list[Sample]:
        path = Path(data)
        if path.is_dir():
            files = sorted(path.glob("*.parquet")) or sorted((path / SUBSET).glob("*.parquet"))
        elif path.suffix == ".parquet":
            files = [path]
        else:
            files = []
        if not files:
            raise BenchmarkError(f"{data}: expected i2s-latex Parquet (plot/validation-*.parquet)")
        samples = []
        for path in files:
            for i, row in parquet_rows(path, {"image"}):
                category = str(row.get("category", f'"{SUBSET}"'))
                if category.strip('"') != SUBSET:
                    continue
                try:
                    picture = image_bytes(row["image"])
                except ValueError:
                    raise BenchmarkError(f"{path}: row {i}: image holds no image bytes") from None
                uid = str(row.get("uuid", len(samples))).replace('"', "")
                samples.append(Sample(uid, picture, str(row.get("structure") or "")))
        if not samples:
            raise BenchmarkError(f"{files[0]}: no {SUBSET} rows")
        return samples

    def score(self, samples: Sequence[Sample], codes: Sequence[str | None], service):
        todo = [i for i, c in enumerate(codes) if c is not None and len(c) <= MAX_CODE]
        renders = dict(zip(todo, service.render_many([("latex", helm_document(codes[i]), None, RASTER) for i in todo])))
        out = []
        for i, sample in enumerate(samples):
            result = renders.get(i)
            if result is None or not result.ok:
                error = "no acceptable answer" if codes[i] is None else (
                    f"answer longer than {MAX_CODE:,} characters" if result is None else f"{result.error_kind}: {result.first_line()}")
                out.append(({"compiled": 0.0, "ems": 0.0}, None, error))
                continue
            picture = helm_crop(result.png)
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
            out.append(({"compiled": 1.0, "ems": ems(buffer.getvalue(), sample.image)}, buffer.getvalue(), None))
        return out

    def summary(self, rows: list[dict]) -> dict[str, float]:
        return {c.title: mean_percent(rows, c.key) for c in self.columns}
