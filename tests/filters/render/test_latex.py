"""TikZ as real documents use it: libraries that a precompiled format cannot hold, and failures
that still name their cause."""
from __future__ import annotations

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
