"""The tree walker on a small fixture tree: nesting, licences, helpers, extraction, junk files."""
from __future__ import annotations

import tarfile

import pytest

from sources.base import SourceError, open_source
from sources.files import FileSource
from tests.conftest import render_one

ARTICLE = r"""\documentclass{article}
\usepackage{tikz}
\usetikzlibrary{arrows.meta}
\newcommand{\R}{\mathbb{R}}
\begin{document}
Some text.
\begin{tikzpicture}
  \draw[-Stealth] (0,0) -- (1,1);
\end{tikzpicture}
More text.
\begin{tikzpicture}
  \draw (0,0) circle (1);
\end{tikzpicture}
\end{document}
"""


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "corpus"
    (root / "plots" / "deep").mkdir(parents=True)
    (root / "plots" / "LICENSE").write_text("MIT License\n\nCopyright (c) 2020 someone\n")
    (root / "plots" / "helpers.py").write_text("DATA = [3, 1, 2]\n")
    (root / "plots" / "main.py").write_text("import matplotlib.pyplot as plt\nfrom helpers import DATA\nplt.plot(DATA)\nplt.show()\n")
    (root / "plots" / "deep" / "only_show.py").write_text("from matplotlib import pyplot as plt\nplt.bar(['a', 'b'], [1, 2])\nplt.show()\n")
    (root / "plots" / "not_a_plot.py").write_text("print('hello')\n")
    (root / "icons").mkdir()
    (root / "icons" / "dot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="3"/></svg>')
    (root / "icons" / "blob.svg").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (root / "icons" / "latin1.svg").write_bytes("<svg><text>caf\xe9</text></svg>".encode("latin-1"))
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<html><body><img src='https://cdn.example.com/a.png'><p>x</p></body></html>")
    (root / "tex").mkdir()
    (root / "tex" / "article.tex").write_text(ARTICLE)
    (root / "tex" / "pic.tikz").write_text("\\begin{tikzpicture}\\draw (0,0) rectangle (2,1);\\end{tikzpicture}\n")
    (root / "mols").mkdir()
    (root / "mols" / "set.smi").write_text("CCO ethanol\nc1ccccc1 benzene\n")
    (root / "mols" / "set.csv").write_text("name,SMILES\nacetic,CC(=O)O\n")
    return root


def test_walks_units_with_refs_and_licences(tree):
    source = FileSource(str(tree))
    samples = list(source)
    by_ref = {s.source_ref: s for s in samples}
    assert set(by_ref) == {"plots/main.py", "plots/deep/only_show.py", "icons/dot.svg", "site/index.html",
                           "tex/article.tex:7-9", "tex/article.tex:11-13", "tex/pic.tikz", "mols/set.smi:1", "mols/set.smi:2",
                           "mols/set.csv:2"}
    assert by_ref["plots/main.py"].license == "MIT" and by_ref["plots/deep/only_show.py"].license == "MIT"
    assert by_ref["icons/dot.svg"].license == "unknown"
    assert by_ref["plots/main.py"].meta["files"] == {"helpers.py": "DATA = [3, 1, 2]\n", "not_a_plot.py": "print('hello')\n"}
    assert by_ref["site/index.html"].meta == {"remote_assets": True}
    assert "\\usetikzlibrary{arrows.meta}" in by_ref["tex/article.tex:7-9"].code
    assert "\\newcommand{\\R}" in by_ref["tex/article.tex:7-9"].code
    assert by_ref["mols/set.smi:2"].code == "c1ccccc1"
    assert source.skipped == {"binary": 1, "undecodable": 1}


def test_units_render_including_helper_imports(service, tree):
    samples = [s for s in FileSource(str(tree)) if s.lang in ("python", "latex")]
    results = service.render_many([(s.lang, s.code, s.meta.get("files")) for s in samples])
    assert all(r.ok for r in results), [(s.source_ref, r.message) for s, r in zip(samples, results) if not r.ok]


def test_archives_and_start(tree, tmp_path):
    archive = tmp_path / "corpus.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="corpus")
    from_dir = [s.source_ref for s in FileSource(str(tree))]
    from_tar = [s.source_ref.removeprefix("corpus/") for s in open_source(f"dir:{archive}")]
    assert from_tar == from_dir
    assert [s.source_ref for s in open_source(f"dir:{tree}", start=3)] == from_dir[3:]


def test_sdf_molecules(tmp_path):
    from rdkit import Chem

    writer = Chem.SDWriter(str(tmp_path / "m.sdf"))
    for smi in ("CCO", "c1ccncc1"):
        writer.write(Chem.MolFromSmiles(smi))
    writer.close()
    assert [s.code for s in FileSource(str(tmp_path))] == ["CCO", "c1ccncc1"]


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        open_source(f"dir:{tmp_path / 'nope'}")
