"""Image2Struct LaTeX (plot): the Hub layout, HELM's document and crop, scored end to end in the sandbox."""
from __future__ import annotations

from pathlib import Path

import pytest

from training.benchmarks.image2latex import Image2Latex, helm_document, missing_packages
from training.benchmarks.runner import run_benchmark

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks" / "image2latex"


def test_plot_rows_of_the_hub_layout_are_read_with_their_uuid():
    samples = Image2Latex().load(str(FIXTURES))
    assert [s.id for s in samples] == ["line", "bars"]  # the equation row is another subset
    assert samples[0].reference.startswith(r"\begin{tikzpicture}")


def test_the_answer_is_compiled_in_helms_document():
    document = helm_document("\\documentclass[12pt]{report}\n\\usepackage{foo}\n\\begin{document}\n"
                             "\\begin{equation}x\\label{eq:1}\\end{equation}\n\\end{document}")
    assert document.startswith("\\documentclass{article}\n\n\\usepackage{amsmath,amssymb,amsfonts}")
    assert "\\usepackage{foo}" not in document and "{equation*}" in document and "\\label" not in document
    assert "\\usepackage[flushleft]{threeparttable}" in document
    assert all(f"{{{name}}}" not in document for name in missing_packages())
    bare = helm_document("\\draw (0,0) -- (1,1);")
    assert bare.endswith("\\begin{document}\\draw (0,0) -- (1,1);\\end{document}")


@pytest.mark.renders
@pytest.mark.needs_tex
def test_identical_answers_score_the_maximum(tmp_path):
    report = run_benchmark("image2latex", str(FIXTURES), str(tmp_path / "o"), outputs=str(FIXTURES / "outputs_identical.jsonl"))
    assert report["n"] == 2 and report["scores"] == {"Compile": 100.0, "EMS": 100.0}


@pytest.mark.renders
@pytest.mark.needs_tex
def test_an_answer_that_does_not_compile_scores_zero(tmp_path):
    report = run_benchmark("image2latex", str(FIXTURES / "plot" / "validation-00000-of-00001.parquet"), str(tmp_path / "o"),
                           outputs=str(FIXTURES / "outputs_broken.jsonl"))
    assert report["scores"] == {"Compile": 0.0, "EMS": 0.0}
    assert "| Compile | EMS |" in (tmp_path / "o" / "table.md").read_text()
