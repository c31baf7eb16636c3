"""The tree walker on a small fixture tree: nesting, licences, helpers, extraction, junk files."""
from __future__ import annotations

import os
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import SourceError
from sources.base import open_source
from sources.files import FileSource
from tests.conftest import render_one
from tests.hostile import finishes, fuzz

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
    assert by_ref["plots/main.py"].meta["files"] == {"helpers.py": "DATA = [3, 1, 2]\n"}
    assert by_ref["site/index.html"].meta == {"remote_assets": True}
    assert "\\usetikzlibrary{arrows.meta}" in by_ref["tex/article.tex:7-9"].code
    assert "\\newcommand{\\R}" in by_ref["tex/article.tex:7-9"].code
    assert by_ref["mols/set.smi:2"].code == "c1ccccc1"
    assert source.skipped == {"binary": 1, "undecodable": 1}


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
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


# Hostile trees: nothing in a tree leads the reader outside it, blocks it, or expands without bound.

def test_symlinks_are_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=hf_secret_value\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "helper.py").write_text("DATA = [1, 2]\n")
    root = tmp_path / "tree"
    root.mkdir()
    (root / "leak.html").symlink_to(secret)
    (root / "helper.py").symlink_to(outside / "helper.py")
    (root / "linked_dir").symlink_to(outside)
    (root / "main.py").write_text("import matplotlib.pyplot as plt\nfrom helper import DATA\nplt.plot(DATA)\n")
    source = FileSource(str(root))
    rows = list(source)
    assert [r.source_ref for r in rows] == ["main.py"]
    assert "files" not in rows[0].meta
    assert all("hf_secret" not in r.code for r in rows)
    assert source.skipped["symlink"] == 3


def test_fifos_and_sockets_are_skipped_without_blocking(tmp_path):
    import socket as socket_module

    root = tmp_path / "tree"
    root.mkdir()
    os.mkfifo(root / "pipe.svg")
    sock = socket_module.socket(socket_module.AF_UNIX)
    sock.bind(str(root / "sock.html"))
    (root / "ok.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle r="3"/></svg>')
    source = FileSource(str(root))
    assert [r.source_ref for r in source] == ["ok.svg"]
    assert source.skipped["special_file"] == 2
    sock.close()


def test_size_is_checked_before_reading(tmp_path, monkeypatch):
    import sources.files as files

    root = tmp_path / "tree"
    root.mkdir()
    (root / "big.svg").write_text("<svg>" + " " * 200 + "</svg>")
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    source = FileSource(str(root))
    assert list(source) == [] and source.skipped["too_large"] == 1


def test_archive_members_with_absolute_or_parent_paths_and_links(tmp_path):
    import io
    import zipfile

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle r="3"/></svg>'
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("/etc/abs.svg", svg)
        zf.writestr("../up.svg", svg)
        zf.writestr("sub/../../up2.svg", svg)
        zf.writestr("fine/ok.svg", svg)
        link = zipfile.ZipInfo("fine/link.svg")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    source = FileSource(str(archive))
    rows = list(source)
    assert [r.source_ref for r in rows] == ["fine/ok.svg"]
    assert source.skipped["unsafe_member"] == 3 and source.skipped["symlink"] == 1
    tarball = tmp_path / "evil.tar"
    with tarfile.open(tarball, "w") as tf:
        for name in ("/abs/LICENSE", "/abs/pic.svg", "../x.svg", "ok/pic.svg"):
            info = tarfile.TarInfo(name)
            info.size = len(svg)
            tf.addfile(info, io.BytesIO(svg))
        sym = tarfile.TarInfo("ok/leak.svg")
        sym.type, sym.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(sym)
        fifo = tarfile.TarInfo("ok/pipe.svg")
        fifo.type = tarfile.FIFOTYPE
        tf.addfile(fifo)
    source = FileSource(str(tarball))
    assert [r.source_ref for r in source] == ["ok/pic.svg"]
    assert source.skipped["unsafe_member"] == 3 and source.skipped["symlink"] == 1 and source.skipped["special_file"] == 1


def test_licence_lookup_ends_at_the_root_for_any_member_name():
    from collections import Counter

    from sources.files import Tree, license_for

    tree = Tree("x", ["/abs/deep/pic.svg", "/LICENSE"], lambda rel: b"MIT License", Counter())
    assert license_for(tree, "/abs/deep/pic.svg", {}) == "unknown"


def test_zip_bomb_is_bounded(tmp_path, monkeypatch):
    import zipfile

    import sources.files as files

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.svg", b"0" * (8 << 20))
        zf.writestr("b.svg", b"<svg/>")
    source = FileSource(str(bomb))
    assert all(r.source_ref != "a.svg" for r in list(source))
    assert source.skipped["too_large"] == 1
    monkeypatch.setattr(files, "MAX_ARCHIVE_BYTES", 1 << 20)
    with pytest.raises(SourceError, match="archive bomb"):
        FileSource(str(bomb))


def test_a_tar_bomb_is_refused_while_its_headers_are_read(tmp_path, monkeypatch):
    import io

    import sources.files as files

    bomb = tmp_path / "many.tar"
    with tarfile.open(bomb, "w") as tf:
        for i in range(60):
            info = tarfile.TarInfo(f"f{i}.svg")
            info.size = 3
            tf.addfile(info, io.BytesIO(b"<a>"))
    monkeypatch.setattr(files, "MAX_ARCHIVE_MEMBERS", 50)
    with pytest.raises(SourceError, match="archive bomb"):
        FileSource(str(bomb))


def test_a_zip_that_declares_too_many_entries_is_refused_before_parsing(tmp_path, monkeypatch):
    import zipfile

    import sources.files as files

    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(60):
            zf.writestr(f"f{i}.svg", b"<a>")
    assert files._zip_declared_entries(str(archive)) == 60
    monkeypatch.setattr(files, "MAX_ARCHIVE_MEMBERS", 50)
    with pytest.raises(SourceError, match="archive bomb"):
        FileSource(str(archive))


def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "x.svg").write_text("<svg>TOP SECRET</svg>")
    root = tmp_path / "tree"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle r="3"/></svg>')
    source = FileSource(str(root))
    (root / "a" / "x.svg").unlink()
    (root / "a").rmdir()
    (root / "a").symlink_to(secret)
    rows = list(source)
    assert rows == [] and source.skipped["symlink"] == 1


def test_a_tar_with_a_huge_long_name_record_is_refused_without_reading_it(tmp_path):
    import gzip
    import resource

    def header(name: bytes, size: int, kind: bytes) -> bytes:
        block = bytearray(512)
        block[0:len(name)] = name
        block[100:108] = b"0000644\x00"
        block[124:136] = f"{size:011o}\x00".encode()
        block[156:157] = kind
        block[257:263] = b"ustar "
        block[148:156] = b" " * 8
        block[148:156] = f"{sum(block):06o}\x00 ".encode()
        return bytes(block)

    bomb = tmp_path / "bomb.tar.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(header(b"././@LongLink", 1 << 30, b"L"))
        fh.write(b"\x00" * (1 << 20))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SourceError, match="archive bomb"):
        FileSource(str(bomb))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024


def test_an_oversized_molecule_is_counted_not_sanitised(tmp_path):
    """RDKit sanitises SD records on the host, and ring perception grows fast with bonds (a 961-atom
    grid of 1,860 bonds takes 9 s): a record declaring more than the caps is skipped before RDKit
    sees it, the molecules around it are read."""
    from rdkit import Chem

    grid = Chem.RWMol()
    for _ in range(30 * 30):
        grid.AddAtom(Chem.Atom(6))
    for i in range(30 * 30):
        if i % 30 < 29:
            grid.AddBond(i, i + 1, Chem.BondType.SINGLE)
        if i < 30 * 29:
            grid.AddBond(i, i + 30, Chem.BondType.SINGLE)
    writer = Chem.SDWriter(str(tmp_path / "m.sdf"))
    writer.SetForceV3000(True)
    for mol in (Chem.MolFromSmiles("CCO"), grid.GetMol(), Chem.MolFromSmiles("c1ccncc1")):
        writer.write(mol)
    writer.close()
    source = FileSource(str(tmp_path))
    assert [s.code for s in source] == ["CCO", "c1ccncc1"] and source.skipped["molecule_too_large"] == 1


def test_a_crafted_script_beside_the_chart_is_a_skipped_import_not_a_crash(tmp_path):
    """``ast.parse`` of 15 KB of nested unary minus raises MemoryError: the helper finder read it bare,
    and the whole harvest stopped. Now the imports of that script are read line by line."""
    (tmp_path / "chart.py").write_text("import matplotlib.pyplot as plt\nfrom style import C\n" + "-" * 15_000 + "1\n")
    (tmp_path / "style.py").write_text("C = 'red'\n")
    (rows,) = list(FileSource(str(tmp_path)))
    assert rows.meta == {"files": {"style.py": "C = 'red'\n"}}


# Files that held a harvest for minutes while it split them with backtracking regexes, on the old
# code (2 shared cores): 80k newlines in a script > 150 s (``^\s*`` under re.M rescans every run of
# blank lines), in a preamble 109 s, 40k unclosed ``\documentclass[`` 105 s. Each is one pass now:
# written and harvested in a fresh interpreter under a 10 s bound.
SLOW_FILES = [
    ("a.py", '"\\n" * 80_000 + "x = 1\\n"', 0),
    ("a.py", '"import matplotlib.pyplot as plt\\n(\\nfrom" + " " * 80_000', 1),
    ("a.py", '"import matplotlib\\n(\\nfrom " + "." * 80_000', 1),
    ("a.tex", '"\\\\documentclass{article}\\n" + "\\n" * 80_000 + "\\\\begin{document}\\n" + "\\\\begin{tikzpicture}" * 4_000', 0),
    ("a.tex", '"\\\\documentclass[" * 40_000 + "\\\\begin{tikzpicture}x\\\\end{tikzpicture}"', 1),
    ("a.html", '"<p>" + "<!--" * 20_000', 1),
    ("a.svg", '"<svg>" + " " * 80_000 + "x</svg>"', 1),
]


@pytest.mark.parametrize("name,expression,units", SLOW_FILES)
def test_adversarial_files_are_split_in_linear_time(tmp_path, name, expression, units):
    out = finishes("from sources.files import FileSource\nfrom filters.dedup import normalize_code\n"
                   f"(open({str(tmp_path / name)!r}, 'w')).write({expression})\n"
                   f"rows = list(FileSource({str(tmp_path)!r}))\n"
                   "print(len(rows), *[len(normalize_code(r.lang, r.code)) for r in rows])")
    assert int(out.split()[0]) == units


TREE_TEXT = st.lists(st.sampled_from(["\n", " ", "\\documentclass", "[", "]", "{standalone}", "{article}", "\\begin{document}",
                                      "\\begin{tikzpicture}", "\\end{tikzpicture}", "\\usepackage{x}", "import matplotlib",
                                      "from . import a", "<!--", "-->", "<", ">", "%", "$$$$\n", "x"]), max_size=30).map("".join)


@fuzz
@given(TREE_TEXT, st.sampled_from(["a.py", "a.tex", "a.html", "a.svg", "a.smi", "a.csv", "a.sdf"]))
def test_file_splitting_answers_anything(tmp_path_factory, text, name):
    from sources.files import Tree, units

    tree = Tree("t", [name], lambda rel: text.encode())
    for lang, code, ref, meta in units(tree, name, text):
        assert lang in ("python", "html", "svg", "latex", "smiles") and ref.startswith(name)


@fuzz
@given(TREE_TEXT)
def test_tikz_spans_and_standalone_match_the_patterns_they_replace(text):
    import re

    from sources.files import is_standalone, spans

    block = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)
    assert list(spans(text, "\\begin{tikzpicture}", "\\end{tikzpicture}")) == [m.span() for m in block.finditer(text)]
    assert is_standalone(text) == bool(re.search(r"\\documentclass(\[[^\]]*\])?\{standalone\}", text))


def test_a_csv_row_csv_cannot_read_ends_that_file_only(tmp_path):
    """A field over ``csv``'s 128 KiB limit raised ``csv.Error`` out of the harvest."""
    (tmp_path / "a.csv").write_text("smiles\nCCO\n" + "C" * 200_000 + "\nCCN\n")
    (tmp_path / "b.smi").write_text("c1ccccc1\n")
    source = FileSource(str(tmp_path))
    assert [s.code for s in source] == ["CCO", "c1ccccc1"] and source.skipped["unreadable_csv"] == 1


def test_a_page_carries_the_files_it_names_beside_it(tmp_path):
    """Design2Code's layout: pages and the placeholder picture they name in one folder."""
    (tmp_path / "site" / "css").mkdir(parents=True)
    (tmp_path / "site" / "rick.jpg").write_bytes(b"\xff\xd8 placeholder")
    (tmp_path / "site" / "css" / "style.css").write_text("p { color: red }")
    (tmp_path / "outside.png").write_bytes(b"not the page's")
    (tmp_path / "site" / "other.html").write_text("<p>another page</p>")
    page = ('<html><head><link rel="stylesheet" href="css/style.css?v=2"></head><body>'
            '<img src="rick.jpg"><img src=\'./rick.jpg\'><img src="../outside.png"><img src="/etc/passwd">'
            '<img src="http://example.com/x.png"><div style="background: url(missing.png)"></div>'
            '<a href="other.html">next</a></body></html>')
    (tmp_path / "site" / "index.html").write_text(page)
    samples = {s.source_ref: s for s in FileSource(str(tmp_path))}
    assert samples["site/index.html"].meta["files"] == {"css/style.css": b"p { color: red }", "rick.jpg": b"\xff\xd8 placeholder"}
    assert "files" not in samples["site/other.html"].meta


def test_files_beside_a_page_are_bounded(tmp_path, monkeypatch):
    import sources.files as files

    monkeypatch.setattr(files, "MAX_BESIDE_FILES", 1)
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"\x89PNG")
    (tmp_path / "big.png").write_bytes(b"x" * 64)
    (tmp_path / "p.html").write_text('<img src="a.png"><img src="b.png">')
    source = FileSource(str(tmp_path))
    assert list(next(iter(source)).meta["files"]) == ["a.png"]
    assert source.skipped["beside_over_limit"] == 1
    monkeypatch.setattr(files, "MAX_BESIDE_FILES", 8)
    monkeypatch.setattr(files, "MAX_BESIDE_BYTES", 16)
    (tmp_path / "p.html").write_text('<img src="big.png">')
    source = FileSource(str(tmp_path))
    assert "files" not in next(iter(source)).meta and source.skipped["beside_over_limit"] == 1


def test_harvest_writes_binary_files_beside_a_page(tmp_path):
    import base64
    import json

    from sources.harvest import write_samples

    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "rick.jpg").write_bytes(b"\xff\xd8\x00jpeg")
    (tmp_path / "tree" / "p.html").write_text('<img src="rick.jpg">')
    write_samples(FileSource(str(tmp_path / "tree")), str(tmp_path / "out.jsonl"))
    meta = json.loads((tmp_path / "out.jsonl").read_text())["meta"]
    assert base64.b64decode(meta["files"]["rick.jpg"]["base64"]) == b"\xff\xd8\x00jpeg"
