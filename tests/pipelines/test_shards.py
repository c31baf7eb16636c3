"""The build folder's card: a rebuilt folder loads its new rows with the card's own snippet."""
from __future__ import annotations

import datasets
import yaml

from pipelines.build import Build
from pipelines.manifest import load_manifest
from tests.pipelines.conftest import rows_of


def card_snippet_load(folder, cache):
    """``load_dataset(DIR)``, as the README and the card show it (one shared cache, as a user has)."""
    return datasets.load_dataset(str(folder), cache_dir=str(cache))


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


def test_card_shows_export_and_exclusions(reference):
    _, out = reference
    card = (out / "README.md").read_text()
    assert "vinci export DIR --format trl" in card and "vinci export DIR --format llava" in card
    assert "## Excluded samples" in card and "vinci inspect DIR --excluded" in card
