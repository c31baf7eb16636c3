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


@pytest.mark.renders
@pytest.mark.needs_tex
def test_answers_are_drawn_by_poppler_as_helm_draws_its_targets(tmp_path, service):
    """The fixture's targets are HELM's way (pdflatex, then pdftoppm at 200 DPI, cropped), made here outside
    the pool; an identical answer scores EMS 1.0 against them, where the same answer drawn by pdfium (vinci's
    default rasteriser) loses ~0.06 for no fault of its own."""
    import io
    import os
    import shutil
    import subprocess

    from PIL import Image

    from training.benchmarks.ems import ems
    from training.benchmarks.image2latex import helm_crop

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    sample = Image2Latex().load(str(FIXTURES))[0]
    (tmp_path / "main.tex").write_text(helm_document(sample.reference))
    subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=batchmode", "main.tex"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120, env={**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"})
    subprocess.run(["pdftoppm", "-r", "200", "-singlefile", "-png", "main.pdf", "page"], cwd=tmp_path, check=True, timeout=60)
    target = helm_crop((tmp_path / "page.png").read_bytes())
    fixture = Image.open(io.BytesIO(sample.image)).convert("RGB")
    assert target.size == fixture.size and target.tobytes() == fixture.tobytes()  # the fixture's target is poppler-drawn

    [(scores, _, error)] = Image2Latex().score([sample], [sample.reference], service)
    assert error is None and scores == {"compiled": 1.0, "ems": 1.0}
    [pdfium] = service.render_many([("latex", helm_document(sample.reference))])
    drawn = io.BytesIO()
    helm_crop(pdfium.png).save(drawn, format="PNG")
    assert 0.9 < ems(drawn.getvalue(), sample.image) < 0.96
