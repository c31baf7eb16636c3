"""The build folder's card: a rebuilt folder loads its new rows with the card's own snippet."""
from __future__ import annotations

from collections import Counter

import datasets
import pytest
import yaml

from pipelines.build import Build
from pipelines.manifest import load_manifest
from tests.pipelines.conftest import rows_of


def card_snippet_load(folder, cache):
    """``load_dataset(DIR)``, as the README and the card show it (one shared cache, as a user has)."""
    return datasets.load_dataset(str(folder), cache_dir=str(cache))


@pytest.mark.renders
def test_rebuild_into_the_same_folder_loads_the_new_rows(tmp_path, tiny_manifest):
    out, cache = tmp_path / "same", tmp_path / "hf-cache"
    splits = {"virl": 0, "sft": "rest"}
    Build(load_manifest(tiny_manifest(sources=[{"source": "synthetic.smiles", "n": 3}], splits=splits)), out,
          workers=1, progress=False).run()
    first = card_snippet_load(out, cache)["sft"]["code"]
    Build(load_manifest(tiny_manifest(sources=[{"source": "synthetic.svg", "n": 2}], splits=splits)), out,
          workers=1, restart=True, progress=False).run()
    second = card_snippet_load(out, cache)["sft"]["code"]
    assert second == [r[2] for r in rows_of(out)] and second != first and len(second) == 2
    header = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    lock = yaml.safe_load((out / "manifest.lock.yaml").read_text())
    assert header["configs"][0]["description"].startswith("vinci build ")
    assert lock["excluded"] is not None


@pytest.mark.renders
def test_card_shows_export_and_exclusions(reference):
    _, out = reference
    card = (out / "README.md").read_text()
    assert "vinci export DIR --format trl" in card and "vinci export DIR --format llava" in card
    assert "## Excluded samples" in card and "vinci inspect DIR --excluded" in card


HOSTILE = "# Owned [click](http://evil.example/x) <img src=http://evil.example/beacon.png> | `tick` &amp; *em*\n---\n## two"


def front_matter_of(card: str) -> dict:
    lines = card.split("\n")
    assert lines[0] == "---"
    return yaml.safe_load("\n".join(lines[1:lines.index("---", 1)]))


def test_card_writes_every_harvested_string_as_text(tmp_path, tiny_manifest):
    """A licence built from a raw file path (``see <path>/LICENSE`` of a ``dir:`` tree whose folders spell
    a remote ``<img>``), a source, a reason and a title, all carrying a heading, a link, an image
    beacon, a table pipe, backticks and an entity: rendered by a CommonMark parser the card holds none
    of them as markup, each shows as its exact text, and the YAML header loads the exact title."""
    from markdown_it import MarkdownIt

    from core.stats import Stats
    from pipelines.shards import dataset_card
    from sources.files import FileSource

    tree = tmp_path / "x<img src=http:" / "evil.example" / "b.png>"
    tree.mkdir(parents=True)
    (tree / "LICENSE").write_text("Do what you like.")
    (tree / "a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle r="3"/></svg>')
    licence = next(iter(FileSource(str(tmp_path)))).license
    assert licence == "see x<img src=http:/evil.example/b.png>/LICENSE"
    manifest = load_manifest(tiny_manifest(name=HOSTILE, sources=[{"source": f"dir:{HOSTILE}", "n": 1, "why": HOSTILE}]))
    stats = Stats()
    stats.licenses.update({licence: 1, HOSTILE: 1})
    stats.add("write", "svg", "sft:generate")
    card = dataset_card(manifest, stats, {"sft": 1}, Counter({f"quality_code: {HOSTILE}": 1}), "b1")
    assert front_matter_of(card)["pretty_name"] == f"vinci · {HOSTILE}"
    md = MarkdownIt("commonmark").enable("table")
    html = md.render(card.split("\n---\n", 1)[1])
    assert "<img" not in html and "evil.example/x\"" not in html and "<em>" not in html
    tokens = md.parse(card.split("\n---\n", 1)[1])
    headings = ["".join(c.content for c in tokens[i + 1].children) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0] == HOSTILE.replace("\n", " ")
    assert all(not h.startswith(("Owned", "two")) for h in headings[1:])
    spans = [child.content for t in tokens if t.type == "inline" for child in t.children if child.type == "code_inline"]
    assert licence in spans and HOSTILE.replace("\n", " ") in spans
    cells = ["".join(c.content for c in t.children) for t in tokens if t.type == "inline"]
    assert f"dir:{HOSTILE}".replace("\n", " ") in cells  # a table cell: escaped text, a code span where no "|"
    links = [child for t in tokens if t.type == "inline" for child in t.children if child.type in ("link_open", "image", "html_inline")]
    assert links == []
