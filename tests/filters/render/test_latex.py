"""TikZ as real documents use it: libraries that a precompiled format cannot hold, and failures
that still name their cause."""
from __future__ import annotations

import os

import pytest

from filters.render.latex import LATE_LIBRARIES, classify_log, late_libraries
from tests.conftest import render_one

REAL_SNIPPETS = {
    "fadings": r"\begin{tikzpicture}\fill[red, path fading=east] (0,0) rectangle (2,1);\end{tikzpicture}",
    "fading library line": "\\usetikzlibrary{fadings}\n\\begin{tikzpicture}\\shade[ball color=blue, path fading=south]"
                           " (0,0) circle (1);\\end{tikzpicture}",
    "drop shadow": r"\begin{tikzpicture}\node[draw, fill=white, drop shadow] {shadow};\end{tikzpicture}",
    "circular glow": r"\begin{tikzpicture}\node[circular glow={fill=gray}] {glow};\end{tikzpicture}",
    "patterns": r"\begin{tikzpicture}\fill[pattern=north east lines, pattern color=blue] (0,0) rectangle (2,1);\end{tikzpicture}",
    "patterns.meta": r"\begin{tikzpicture}\fill[pattern={Lines[angle=45, distance=3pt]}] (0,0) rectangle (2,1);\end{tikzpicture}",
    "decorations.text": r"\begin{tikzpicture}\path[decorate, decoration={text along path, text={along a path}}]"
                        r" (0,0) arc (180:0:1.5);\end{tikzpicture}",
    "spy": r"\begin{tikzpicture}[spy using outlines={circle, magnification=3, size=1cm}]\draw (0,0) grid (2,2);"
           r"\spy on (1,1) in node at (3.5,1);\end{tikzpicture}",
    "calendar": r"\begin{tikzpicture}\calendar[dates=2024-01-01 to 2024-01-31, week list];\end{tikzpicture}",
    "shapes.symbols": r"\begin{tikzpicture}\node[cloud, draw, aspect=2] {cloud};\node[starburst, draw] at (3,0) {!};\end{tikzpicture}",
}


@pytest.mark.renders
@pytest.mark.needs_tex
@pytest.mark.parametrize("name", sorted(REAL_SNIPPETS))
def test_real_tikz_libraries_render(service, name):
    result = render_one(service, "latex", REAL_SNIPPETS[name])
    assert result.ok, result.message


@pytest.mark.renders
@pytest.mark.needs_tex
def test_document_preamble_with_a_fading_renders_every_time(service):
    doc = ("\\documentclass[border=2pt]{standalone}\n\\usepackage{tikz}\n\\usetikzlibrary{fadings,shadows}\n"
           "\\begin{document}\n\\tikz\\fill[blue, path fading=north] (0,0) rectangle (1,1);\n\\end{document}\n")
    renders = [render_one(service, "latex", doc) for _ in range(3)]  # from the second on, a format would be used
    assert all(r.ok for r in renders), [r.message for r in renders]
    assert renders[0].png == renders[2].png


def test_late_libraries_are_loaded_only_where_used():
    assert late_libraries(r"\draw (0,0) -- (1,1);") == ""
    assert "fadings" in late_libraries(r"\fill[path fading=east] (0,0) circle (1);")
    assert set(LATE_LIBRARIES) == {"fadings", "shadows"}


def test_a_crash_without_error_line_still_names_its_cause():
    log = "This is pdfTeX\n(./main.tex\nLaTeX Font Info:    Checking defaults for T1/cmr/m/n on input line 1.\n"
    kind, message = classify_log(log, returncode=-11)
    assert kind == "runtime"
    assert "SIGSEGV" in message and "Checking defaults for T1/cmr/m/n" in message
    assert classify_log("! Undefined control sequence.\nl.3 \\foo", 1) == ("runtime", "! Undefined control sequence.")


PGFPLOTS_DOCUMENT = ("\\documentclass{standalone}\n\\usepackage{pgfplots}\n\\pgfplotsset{compat=1.18}\n\\begin{document}\n"
                     "\\begin{tikzpicture}\\begin{axis}[width=6cm, xlabel={$x$}, ylabel={$\\sin x$}, title={poppler}]\n"
                     "\\addplot[blue, thick, domain=0:6.3, samples=40] {sin(deg(x))};\n"
                     "\\addplot[red, dashed, fill=red!20] coordinates {(0,0) (2,0.5) (4,-0.5) (6,0)};\n"
                     "\\end{axis}\\node[draw, rounded corners] at (2,-1.4) {TikZ node};\\end{tikzpicture}\n\\end{document}\n")


@pytest.mark.renders
@pytest.mark.needs_tex
def test_poppler_rasteriser_draws_as_pdftoppm_does(tmp_path):
    """``rasteriser: poppler`` gives exactly the pixels pdftoppm draws from the same PDF at 200 DPI (HELM's
    way); the default stays pdfium, whose pixels differ."""
    import shutil
    import subprocess

    import numpy as np

    from filters.render import RenderPool
    from tests.conftest import image_of

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "main.tex").write_text(PGFPLOTS_DOCUMENT)
    subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=batchmode", "main.tex"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120, env={**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"})
    subprocess.run(["pdftoppm", "-r", "200", "-singlefile", "-png", "main.pdf", "expected"], cwd=tmp_path, check=True, timeout=60)
    expected = np.asarray(image_of((tmp_path / "expected.png").read_bytes()))
    with RenderPool("latex", 1, timeout_s=30) as pool:
        poppler = pool.render(PGFPLOTS_DOCUMENT, conventions={"rasteriser": "poppler"})
        default, pdfium = pool.render(PGFPLOTS_DOCUMENT), pool.render(PGFPLOTS_DOCUMENT, conventions={"rasteriser": "pdfium"})
    assert poppler.ok and default.ok, (poppler.message, default.message)
    drawn = np.asarray(image_of(poppler.png))
    assert drawn.shape == expected.shape and np.array_equal(drawn, expected)
    assert default.png == pdfium.png and not np.array_equal(np.asarray(image_of(default.png)), expected)


def test_poppler_is_refused_without_the_jail(tmp_path):
    """An untrusted PDF never reaches pdftoppm on the host: a worker without the jail refuses it."""
    from filters.render.base import RenderError
    from filters.render.latex import LatexRenderer

    pdf = tmp_path / "main.pdf"
    pdf.write_bytes(b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    renderer = LatexRenderer()
    assert not renderer.jailed
    with pytest.raises(RenderError) as refused:
        renderer._rasterise_poppler(str(pdf), str(tmp_path), 5.0)
    assert refused.value.kind == "forbidden" and not (tmp_path / "page.ppm").exists()


FORMAT_SNIPPETS = {
    "text and colour": r"\begin{tikzpicture}\node[draw, fill=blue!20] {Text $x^2$};\draw[->, red] (0,0) -- (2,1);"
                       r"\end{tikzpicture}",
    "pgfplots": r"\begin{tikzpicture}\begin{axis}[title=Data]\addplot[blue] coordinates {(0,0) (1,2) (2,1)};"
                r"\end{axis}\end{tikzpicture}",
}


@pytest.mark.renders
@pytest.mark.needs_tex
@pytest.mark.parametrize("name", sorted(FORMAT_SNIPPETS))
def test_a_snippet_renders_the_same_from_the_format_as_compiled_in_full(service, name):
    """vinci's format holds the preamble and what pdflatex would read at ``\\begin{document}`` (``FORMAT_PRELOADS``);
    a package the format lacks makes the snippet compile the whole preamble instead: the same picture."""
    from_format = render_one(service, "latex", FORMAT_SNIPPETS[name])
    in_full = render_one(service, "latex", "\\usepackage{ifthen}\n" + FORMAT_SNIPPETS[name])
    assert from_format.ok and in_full.ok, (from_format.message, in_full.message)
    assert from_format.png == in_full.png


@pytest.mark.renders
@pytest.mark.needs_tex
@pytest.mark.parametrize("preamble", ["\\usepackage{tikz}\n", "\\usepackage{tikz}\n\\makeatletter\n\\def\\my@label{Pic $x^2$}\n"])
def test_a_document_renders_as_compiled_plain_every_time(service, preamble):
    """From its second render a document compiles from a format of its own preamble, which also holds what
    ``\\begin{document}`` would read (``DOCUMENT_PRELOADS``): the plain compile's picture. A preamble that leaves
    a catcode changed (``@`` a letter for the body) is always compiled plain: a format would give the body ``@``
    as an other character again (it failed from the second render on)."""
    label = "\\my@label" if "makeatletter" in preamble else "Pic $x^2$"
    doc = (f"\\documentclass{{standalone}}\n{preamble}\\begin{{document}}\n"
           f"\\tikz\\node[draw, fill=red!20] {{{label}}};\n\\end{{document}}\n")
    renders = [render_one(service, "latex", doc) for _ in range(3)]  # plain, then format-built, then format
    assert all(r.ok for r in renders), [r.message for r in renders]
    assert renders[0].png == renders[1].png == renders[2].png


def test_preambles_that_leave_catcodes_changed_get_no_format():
    from filters.render.latex import changes_catcodes

    assert changes_catcodes("\\documentclass{article}\n\\makeatletter\n\\def\\a@b{}\n")
    assert changes_catcodes("\\documentclass{article}\n\\catcode`\\@=11\n")
    assert changes_catcodes("\\documentclass{article}\n\\ExplSyntaxOn\n")
    assert not changes_catcodes("\\documentclass{article}\n\\makeatletter\\def\\a@b{}\\makeatother\n\\usepackage{tikz}\n")
