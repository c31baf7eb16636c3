"""Builds over real-layout Hub fixtures: refine rows, source pictures, licences, decontamination."""
from __future__ import annotations

import json
from itertools import islice

import pyarrow.parquet as pq
import pytest

from pipelines.build import Build
from pipelines.manifest import load_manifest
from sources.base import open_source
from tests.conftest import render_one
from tests.sources.hub_fixtures import PY, PY_DRAFT, vincicoder_sft

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

SVG_SPEC = {"source": "synthetic.svg", "n": 8}
ROOT_FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "real"


def shard_rows(out) -> list[dict]:
    return [r for shard in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(shard).to_pylist()]


def test_vincicoder_refine_rows_become_verified_optimize_rows(tmp_path, tiny_manifest):
    repo = tmp_path / "repo"
    repo.mkdir()
    fixture = vincicoder_sft(repo)
    m = tiny_manifest(sources=[{"source": "hub:DocTron-Hub/VinciCoder-1.6M-SFT", "n": 4, "options": fixture.options}],
                      splits={"virl": 0, "sft": "rest"}, perturb={"per_row": 0, "min_distance": 1, "max_distance": 60})
    stats = Build(load_manifest(m), tmp_path / "out", workers=1, progress=False).run()
    rows = shard_rows(tmp_path / "out")
    optimize = [r for r in rows if r["task"] == "optimize"]
    assert len(optimize) == 1, stats.table().get("refine")
    row = optimize[0]
    assert (row["lang"], row["code"], row["flawed_code"], row["perturbation"]) == ("python", PY, PY_DRAFT, "refine")
    assert row["flawed_image"]["bytes"] and row["flawed_image"]["bytes"] != row["image"]["bytes"]
    parent = next(r for r in rows if r["task"] == "generate" and r["lang"] == "python")
    assert json.loads(row["meta"])["parent"] == parent["id"] and "flawed_code" not in json.loads(parent["meta"])
    assert stats.table()["refine"]["python"] == {"in": 1, "out": 1}
    assert stats.table()["quality_code"]["unknown"]["dropped:unknown_language"] == 1
    generate = {r["lang"]: r for r in rows if r["task"] == "generate"}
    assert {lang: r["source_image"]["bytes"] for lang, r in generate.items()} == {
        e.lang: e.image for e in fixture.expected if e.lang in generate}
    summary = json.loads((tmp_path / "out" / "stats.json").read_text())["source_phash_distance"]
    assert set(summary) == set(generate) and all(s["rows"] == 1 for s in summary.values())
    assert all(0 <= json.loads(r["meta"])["source_phash_distance"] <= 64 for r in generate.values())
    assert "Source pictures vs vinci's renders" in (tmp_path / "out" / "README.md").read_text()


def test_refused_licences_are_counted_drops(tmp_path, tiny_manifest):
    data = tmp_path / "mols.jsonl"
    data.write_text("".join(json.dumps({"smi": s}) + "\n" for s in ("CCO", "CCN", "c1ccccc1")))
    m = tiny_manifest(sources=[{"source": "hub:someone/mols", "n": 3, "options": {
        "data_files": str(data), "code_column": "smi", "lang": "smiles", "license": "CC-BY-NC-4.0"}}],
        splits={"virl": 0, "sft": "rest"}, licenses={"deny": ["cc-by-nc-4.0"]})
    stats = Build(load_manifest(m), tmp_path / "out", workers=1, progress=False).run()
    assert stats.table()["license_filter"]["smiles"] == {"in": 3, "dropped:license_refused": 3}
    assert "execution" not in stats.table()


def test_decontamination_drops_planted_benchmark_rows(tmp_path, tiny_manifest, service):
    """Row 1's picture sits in a folder of images; row 4's code (reformatted) in a Hub-layout benchmark."""
    codes = [s.code for s in islice(open_source("synthetic.svg", seed=1), 8)]
    pictures = tmp_path / "bench_pictures"
    pictures.mkdir()
    (pictures / "leak.png").write_bytes(render_one(service, "svg", codes[1]).png)
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"Filename": "x.svg", "Svg": "\n\n" + codes[4].replace("><", ">\n  <")}) + "\n")
    against = [str(pictures), {"source": "hub:starvector/svg-stack", "options": {"data_files": str(bench)}}]
    clean = tiny_manifest(sources=[SVG_SPEC], splits={"virl": 0, "sft": "rest"})
    dirty = tiny_manifest(sources=[SVG_SPEC], splits={"virl": 0, "sft": "rest"}, dedup={"phash_radius": 4, "against": against})
    Build(load_manifest(clean), tmp_path / "clean", workers=1, progress=False).run()
    stats = Build(load_manifest(dirty), tmp_path / "dirty", workers=1, progress=False).run()
    kept_before = {r["code"] for r in shard_rows(tmp_path / "clean")}
    kept_after = {r["code"] for r in shard_rows(tmp_path / "dirty")}
    assert {codes[1], codes[4]} <= kept_before
    assert kept_before - kept_after == {codes[1], codes[4]}
    assert stats.table()["decontaminate"]["svg"]["dropped:contaminated"] == 2
    card = (tmp_path / "dirty" / "README.md").read_text()
    assert "## Decontamination" in card and "2 rows were dropped as `contaminated`" in card


@pytest.mark.needs_chromium
def test_a_design2code_build_draws_as_the_benchmark_and_names_missing_modules(tmp_path, tiny_manifest):
    """Design2Code's Hub layout (its registry conventions) beside a dir: tree with a script needing a package the
    render environment lacks: rows at the benchmark's screenshot size, its conventions kept for the row,
    the module counted in stats.json and the card."""
    import shutil

    from tests.sources.hub_fixtures import design2code_hf

    repo = tmp_path / "repo"
    repo.mkdir()
    fixture = design2code_hf(repo)
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT_FIXTURES / "chartmimic_ori500" / "bar_1.py", tree)
    (tree / "venn.py").write_text("import matplotlib.pyplot as plt\nimport matplotlib_venn3000\nplt.plot([1, 2])\n")
    m = tiny_manifest(sources=[{"source": "hub:SALT-NLP/Design2Code-hf", "n": 2, "options": fixture.options},
                               {"source": f"dir:{tree}", "n": 2, "render": {"python": {"savefig": "figure"}}}],
                      splits={"virl": 0, "sft": "rest"}, perturb={"per_row": 0})
    Build(load_manifest(m), tmp_path / "out", workers=1, progress=False).run()
    rows = {r["source_ref"]: r for r in shard_rows(tmp_path / "out") if r["task"] == "generate"}
    pages = [r for r in rows.values() if r["lang"] == "html"]
    assert len(pages) == 2
    for page in pages:
        meta = json.loads(page["meta"])
        assert meta["render"]["viewport_width"] == 1280 and meta["width"] == 1280
        assert meta["source_phash_distance"] <= 8
    chart = json.loads(rows["bar_1.py"]["meta"])
    assert chart["render"] == {"savefig": "figure"} and (chart["width"], chart["height"]) == (700, 500)  # figsize (7, 5), not cropped
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["counts"]["execution|python|missing_module:matplotlib_venn3000"] == 1
    assert stats["counts"]["execution|python|dropped:missing_module"] == 1
    assert "| `matplotlib_venn3000` | 1 |" in (tmp_path / "out" / "README.md").read_text()
