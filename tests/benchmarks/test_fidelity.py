"""The fidelity benchmark pairs code with its dataset's picture in the benchmarks' own layouts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.fidelity import chosen_conventions, folder_pairs, measure, render_pairs, table, table_pairs

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


def test_tikz_collection_layout_pairs_the_tex_and_its_svg_with_one_picture(tmp_path):
    pairs = {p.ref: p for p in folder_pairs(REAL / "janosh_tikz", tmp_path, beside=True)}
    assert {ref: p.lang for ref, p in pairs.items()} == {
        "branch-cuts-1.svg": "svg", "branch-cuts-1.tex": "latex", "jensens-inequality.svg": "svg", "jensens-inequality.tex": "latex"}
    assert pairs["jensens-inequality.tex"].picture == pairs["jensens-inequality.svg"].picture == \
        (REAL / "janosh_tikz" / "jensens-inequality.png").read_bytes()


def test_a_csv_of_pairs_reads_the_pictures_beside_it(tmp_path):
    pairs = table_pairs(REAL / "ocmr_patent" / "smiles_map.csv", "smiles", "Smiles", "ImagePath")
    assert [(p.ref, p.lang, p.code) for p in pairs] == [
        ("P195", "smiles", "CN(C1CCC(CC1)NC1=NC=C(C(=N1)C1=CN=C2N1C=C(C=C2)NC=2C=NC=CC2)C)C"),
        ("P335", "smiles", "BrC=1C=C2C=CC(=C(C2=CC1)C=O)O")]
    assert pairs[1].picture == (REAL / "ocmr_patent" / "images" / "P335.png").read_bytes()
    escape = tmp_path / "t.csv"
    escape.write_text("Smiles,ImagePath\nCCO,../../etc/passwd\n")
    with pytest.raises(SystemExit, match="t.csv, line 2: no picture '../../etc/passwd' beside the table"):
        table_pairs(escape, "smiles", "Smiles", "ImagePath")
    with pytest.raises(SystemExit, match="no column 'SMILES'"):
        table_pairs(REAL / "ocmr_patent" / "smiles_map.csv", "smiles", "SMILES", "ImagePath")


def test_real_tikz_svg_and_molecules_render_as_their_sources_drew_them(tmp_path):
    """A TikZ document and its pdf2svg SVG (janosh/tikz) land within pHash 8 of the collection's own
    picture; so do molecules drawn by RDKit's ``MolToFile`` at 250 px, once vinci draws the molecule
    ``MolFromSmiles`` gives (sanitized apart, ``methyl_4hydroxybenzoate`` came out mirrored: pHash 32)."""
    pairs = folder_pairs(REAL / "janosh_tikz", tmp_path, beside=True) + folder_pairs(REAL / "rdkit_morph", tmp_path, beside=True)
    rows = {r["ref"]: r for r in measure(pairs, render_pairs(pairs, 1, 60, chosen_conventions(None, ["smiles.size=250"])))}
    assert {ref: r["phash"] <= 8 for ref, r in rows.items()} == {ref: True for ref in rows}, rows
    assert rows["jensens-inequality.tex"]["size"] == rows["jensens-inequality.tex"]["ref_size"] == [542, 451]
    assert rows["sorbic_acid.smi"]["size"] == [250, 250]
