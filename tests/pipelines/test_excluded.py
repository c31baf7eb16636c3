"""Every dropped sample or perturbation is written beside the shards, counted in the card, and drawn."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import datasets
import pytest

from core.exclusions import excluded_files, read_excluded
from pipelines.build import Build
from pipelines.manifest import load_manifest
from tests.pipelines.conftest import ROOT

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

MOLS = ["CCO", "", "C" * 500, "c1ccccc1", "C1CC(", "CCO", "c1ccccc1O", "CC(=O)O", "CCN(CC)CC", "OC(=O)c1ccccc1"]


@pytest.fixture(scope="module")
def dropped(tmp_path_factory):
    """A build whose input has rows for every kind of drop: code checks, render errors, duplicates, perturbations."""
    folder = tmp_path_factory.mktemp("excluded")
    rows = [{"code": c, "image": {"bytes": b"not an image", "path": None} if c == "c1ccccc1" else None} for c in MOLS]
    feats = datasets.Features({"code": datasets.Value("string"), "image": datasets.Image()})
    datasets.Dataset.from_list(rows, features=feats).to_parquet(str(folder / "mols.parquet"))
    manifest = folder / "m.yaml"
    manifest.write_text(json.dumps({
        "name": "drops", "seed": 0, "unit_rows": 3, "shard_rows": 4,
        "sources": [{"source": "hub:local/mols", "n": len(MOLS), "options": {
            "data_files": str(folder / "mols.parquet"), "code_column": "code", "image_column": "image", "lang": "smiles"}}],
        "render": {"timeout_s": 10, "workers": 1}, "quality": {"min_code_chars": 1, "max_code_chars": 200},
        "perturb": {"per_row": 2, "error_share": 0.3, "min_distance": 1, "max_distance": 30},
        "splits": {"virl": 1, "sft": "rest"}}))
    out = folder / "out"
    stats = Build(load_manifest(manifest), out, workers=1, progress=False).run()
    return manifest, out, stats


def test_every_drop_has_a_record_with_its_cause(dropped):
    _, out, stats = dropped
    records = list(read_excluded(out))
    drops = stats.drops()
    assert len(records) == sum(drops.values()) > 0
    by = {}
    for r in records:
        by.setdefault((r.stage, r.reason), []).append(r)
    assert set(drops) == set(by)
    assert [r.code for r in by[("quality_code", "empty_code")]] == [""]
    assert [(len(r.code), r.error) for r in by[("quality_code", "code_too_long")]] == [(500, "500 characters (quality: 1..200)")]
    assert by[("quality_code", "bad_source_image")][0].source_ref.endswith("#3")
    syntax = by[("execution", "syntax")][0]
    assert syntax.code == "C1CC(" and syntax.error and syntax.image is None and syntax.source == "hub:local/mols"
    duplicate = by[("dedup", "exact_duplicate")][0]
    assert duplicate.code == "CCO" and duplicate.image and duplicate.source_ref.endswith("#5")
    perturbations = [r for r in records if r.stage in ("perturb", "optimize") and r.reason != "not_applicable"]
    assert perturbations and all(r.task == "optimize" and r.perturbation and r.error for r in perturbations)
    assert all(r.meta.get("parent") for r in perturbations if r.stage == "perturb")


def test_counted_in_stats_and_card_and_loadable(dropped, tmp_path):
    _, out, _ = dropped
    n = len(list(read_excluded(out)))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["excluded"]["rows"] == n and stats["excluded"]["by_reason"]["execution: syntax"] == 1
    card = (out / "README.md").read_text()
    assert f"{n:,} samples and perturbations were dropped" in card and "| execution: syntax | 1 |" in card
    ds = datasets.load_dataset("parquet", data_files=str(out / "excluded" / "*.parquet"), split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == n and {"id", "stage", "reason", "error", "source", "source_ref"} <= set(ds.column_names)
    assert any(image is not None and image.size[0] > 0 for image in ds["image"])


def test_exclusions_resume_like_the_shards(dropped, tmp_path):
    manifest, out, _ = dropped
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = [e.to_row() for e in read_excluded(out)]
    unit = sorted((copy / "work" / "excluded").glob("u-*[0-9].parquet"))[1]
    perturbed = sorted((copy / "work" / "excluded").glob("u-*.perturb.parquet"))[0]
    unit.unlink()
    perturbed.unlink()
    shutil.rmtree(copy / "excluded")
    passes = ("units", "perturbed")
    mtimes = {(d, p.name): p.stat().st_mtime_ns for d in passes for p in (copy / "work" / d).glob("*.parquet")}
    Build(load_manifest(manifest), copy, workers=1, progress=False).run()
    rerun = {d: [p.name for p in (copy / "work" / d).glob("*.parquet") if p.stat().st_mtime_ns != mtimes[(d, p.name)]]
             for d in passes}
    assert rerun == {"units": [unit.name], "perturbed": [perturbed.name.replace(".perturb", "")]}
    assert [e.to_row() for e in read_excluded(copy)] == before
    assert [p.name for p in excluded_files(copy)] == [p.name for p in excluded_files(out)]


def test_inspect_draws_the_excluded_and_filters_by_reason(dropped, tmp_path):
    _, out, _ = dropped

    def inspect(*extra):
        return subprocess.run([sys.executable, "-m", "pipelines.cli", "inspect", str(out), "--excluded", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    everything = inspect("-o", str(tmp_path / "all.png"))
    assert everything.returncode == 0, everything.stderr
    assert f"({len(list(read_excluded(out)))} excluded samples)" in everything.stdout
    one = inspect("--reason", "execution:syntax", "-o", str(tmp_path / "syntax.png"))
    assert one.returncode == 0 and "(1 excluded samples with reason execution:syntax)" in one.stdout
    from PIL import Image

    assert Image.open(tmp_path / "all.png").size[1] > Image.open(tmp_path / "syntax.png").size[1]
    none = inspect("--reason", "nonsense", "-o", str(tmp_path / "none.png"))
    assert none.returncode == 1 and none.stderr.count("\n") == 1 and "execution:syntax" in none.stderr


def test_build_summary_names_the_dropped_files_and_why(dropped, capsys):
    from pipelines.summary import print_exclusions

    _, out, _ = dropped
    print_exclusions(out)
    text = capsys.readouterr().out
    assert f"excluded: {len(list(read_excluded(out)))} samples in {out / 'excluded'}/" in text
    syntax = next(e for e in read_excluded(out) if e.reason == "syntax")
    assert f"  execution: syntax  {syntax.source_ref}  {syntax.error}" in text.splitlines()
