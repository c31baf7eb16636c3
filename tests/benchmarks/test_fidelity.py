"""The fidelity benchmark pairs code with its dataset's picture in the benchmarks' own layouts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.fidelity import chosen_conventions, folder_pairs, measure, render_pairs, table

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"


def test_design2code_layout_pairs_pages_with_screenshots_and_their_placeholder(tmp_path):
    pairs = {p.ref: p for p in folder_pairs(REAL / "design2code", tmp_path, beside=True)}
    assert set(pairs) == {"1002.html", "10414.html", "1009.html", "13302.html", "4405.html"}
    assert list(pairs["1002.html"].files) == ["rick.jpg"] and pairs["1009.html"].files == {}
    assert pairs["1009.html"].picture == (REAL / "design2code" / "1009.png").read_bytes()
    assert all(p.files == {} for p in folder_pairs(REAL / "design2code", tmp_path, beside=False))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils")
def test_chartmimic_layout_rasterises_the_pdf_at_100_dpi(tmp_path):
    """ChartMimic's ``ori_500`` holds ``NAME.py`` + ``NAME.pdf``: a PDF made from the fixture PNG stands in."""
    from PIL import Image

    folder = tmp_path / "ori_500"
    folder.mkdir()
    shutil.copy(REAL / "chartmimic_ori500" / "bar_1.py", folder)
    Image.open(REAL / "chartmimic_ori500" / "bar_1.png").convert("RGB").save(folder / "bar_1.pdf", resolution=100)
    (pair,) = folder_pairs(folder, tmp_path / "cache", beside=True)
    assert pair.lang == "python" and Image.open(__import__("io").BytesIO(pair.picture)).size == \
        Image.open(REAL / "chartmimic_ori500" / "bar_1.png").size


def test_conventions_come_from_the_registry_and_the_command_line():
    assert chosen_conventions("SALT-NLP/Design2Code-hf", ["html.files_beside=true"])["html"] == {
        "viewport_width": 1280, "viewport_height": 720, "full_page": True, "files_beside": True}
    assert chosen_conventions(None, ["svg.long_side=224"]) == {"svg": {"long_side": 224}}
    with pytest.raises(SystemExit, match="no such registry entry"):
        chosen_conventions("nobody/nothing", [])


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_a_page_rendered_as_its_benchmark_shot_it_is_measured(tmp_path):
    pairs = [p for p in folder_pairs(REAL / "design2code", tmp_path, beside=True) if p.ref == "4405.html"]
    rows = measure(pairs, render_pairs(pairs, 1, 30, chosen_conventions("SALT-NLP/Design2Code-hf", [])))
    assert rows[0]["ok"] and rows[0]["size"] == [1280, 720] and rows[0]["phash"] <= 8
    assert "| html | 1 | 1/1 (100.0%) | 1/1 (100.0%) |" in table(rows)
