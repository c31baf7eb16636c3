"""Each language renders its bundled example to a non-blank PNG of the documented canvas, twice identically."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.languages import EXTENSIONS
from sources.files import code_of_file
from tests.conftest import EXAMPLES, image_of, render_one

EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in EXTENSIONS)
EXPECTED_SIZE = {"bar_chart.py": (640, 400), "molecule_drawing.py": (400, 300), "pricing.html": (1024, 768),
                 "badge.svg": (512, 512), "aspirin.smi": (512, 512), "ibuprofen.smi": (512, 512)}


@pytest.mark.renders
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_renders_deterministically(service, path):
    lang = EXTENSIONS[path.suffix]
    code = code_of_file(path, lang)
    first = render_one(service, lang, code)
    second = render_one(service, lang, code)
    assert first.ok, first.message
    assert first.png == second.png
    img = np.asarray(image_of(first.png))
    assert img.std() > 5, "render is nearly uniform"
    if path.name in EXPECTED_SIZE:
        assert (first.width, first.height) == EXPECTED_SIZE[path.name]
    assert img.shape[:2] == (first.height, first.width)


def test_all_five_languages_have_examples():
    assert {EXTENSIONS[p.suffix] for p in EXAMPLE_FILES} == {"python", "html", "svg", "latex", "smiles"}


@pytest.mark.renders
def test_python_capture_without_show_or_savefig(service):
    result = render_one(service, "python", "import matplotlib.pyplot as plt\nplt.scatter([1, 2, 3], [3, 1, 2])\n")
    assert result.ok and (result.width, result.height) == (640, 480)


@pytest.mark.renders
def test_python_capture_after_savefig_and_close(service):
    code = ("import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(3, 2))\nplt.plot([0, 1], [0, 1])\n"
            "fig.savefig('/root/elsewhere/out.pdf', dpi=600)\nplt.close(fig)\n")
    result = render_one(service, "python", code)
    assert result.ok, result.message
    assert (result.width, result.height) == (300, 200)


@pytest.mark.renders
def test_python_errors_are_named(service):
    assert render_one(service, "python", "def f(:\n  pass").error_kind == "syntax"
    assert render_one(service, "python", "import matplotlib.pyplot as plt\nplt.plot(undefined_name)").error_kind == "runtime"
    assert render_one(service, "python", "x = 1\n").error_kind == "blank"


@pytest.mark.renders
@pytest.mark.needs_tex
def test_latex_snippet_and_whole_document_errors(service):
    assert render_one(service, "latex", r"\begin{tikzpicture}\draw (0,0) -- (1,1);").error_kind == "syntax"
    assert render_one(service, "latex", r"\begin{tikzpicture}\notacommand\end{tikzpicture}").error_kind == "runtime"


@pytest.mark.renders
def test_svg_and_smiles_errors(service):
    assert render_one(service, "svg", "<svg><g></svg>").error_kind == "syntax"
    assert render_one(service, "smiles", "C1CC(").error_kind == "syntax"
    assert render_one(service, "smiles", "C(C)(C)(C)(C)C").error_kind == "runtime"


@pytest.mark.renders
def test_unknown_language_is_unsupported(service):
    assert render_one(service, "cobol", "DISPLAY 'HI'.").error_kind == "unsupported"


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_cli_single_file(tmp_path):
    out = tmp_path / "chart.png"
    ok = subprocess.run([sys.executable, "-m", "pipelines.cli", "render", str(EXAMPLES / "badge.svg"), "-o", str(out)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('nope')\n")
    failed = subprocess.run([sys.executable, "-m", "pipelines.cli", "render", str(bad), "-o", str(tmp_path / "x.png")],
                            capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == ["error: runtime: ValueError: nope"]


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_cli_many_files_into_outdir(tmp_path):
    (tmp_path / "bad.svg").write_text("<svg")
    files = [str(EXAMPLES / "aspirin.smi"), str(EXAMPLES / "parabola.tex"), str(tmp_path / "bad.svg")]
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "render", *files, "-o", str(tmp_path / "out") + "/"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3 and "ok" in lines[0] and "ok" in lines[1] and "error: syntax" in lines[2]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["aspirin.png", "parabola.png"]


@pytest.mark.renders
def test_a_smiles_is_the_whole_code(service):
    """RDKit would read only the first token and skip U+FFFD at the ends: the renderer does not."""
    assert render_one(service, "smiles", "CNCCN").ok
    assert render_one(service, "smiles", "  CNCCN\n").ok
    for hack in ("CNCCN scale scale scale", "\ufffdCCCC\ufffd", "CCO\tname"):
        assert render_one(service, "smiles", hack).error_kind == "syntax", hack
