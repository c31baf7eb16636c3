"""End-to-end builds of a tiny manifest: outputs, determinism, kill-and-resume, bad input."""
from __future__ import annotations

import json
import os
import signal
import time

import datasets
import pytest
import yaml

from core.errors import BuildError
from core.exclusions import read_excluded
from pipelines.build import Build
from pipelines.manifest import load_manifest



from tests.pipelines.conftest import build_cli, rows_of

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)


def test_outputs_load_with_datasets(reference, tmp_path):
    _, out = reference
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert set(ds) == {"sft", "virl"}
    assert ds["virl"].num_rows == 5
    row = ds["sft"][0]
    assert row["image"].size[0] > 0 and row["task"] == "generate"
    assert {"id", "lang", "code", "phash", "source_ref", "license", "meta"} <= set(ds["sft"].column_names)
    shards = sorted(p.name for p in (out / "data").glob("*.parquet"))
    assert all(name.endswith("-of-" + name.split("-of-")[1]) for name in shards)
    assert "sft-00000-of-" in shards[0]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows"]["virl"] == 5
    assert stats["table"]["execution"]["svg"]["in"] == 14
    lock = yaml.safe_load((out / "manifest.lock.yaml").read_text())
    assert set(lock["shards"]) == set(shards) and lock["packages"]["datasets"]
    card = (out / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "| sft | smiles | generate |" in card


def test_same_manifest_same_rows_and_kill_resume(reference, tmp_path):
    manifest, ref_out = reference
    expected = rows_of(ref_out)
    out = tmp_path / "resumed"
    for delay in (6.0, 10.0):
        proc = build_cli(manifest, out)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = len(list((out / "work" / "units").glob("*.parquet")))
    assert 0 < done
    proc = build_cli(manifest, out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    assert rows_of(out) == expected
    assert [e.to_row() for e in read_excluded(out)] == [e.to_row() for e in read_excluded(ref_out)]


def test_changed_manifest_refuses_to_resume(reference, tmp_path, tiny_manifest):
    manifest, _ = reference
    out = tmp_path / "b"
    Build(load_manifest(tiny_manifest(sources=[{"source": "synthetic.smiles", "n": 3}])), out, workers=1, progress=False).run()
    with pytest.raises(BuildError, match="different manifest"):
        Build(load_manifest(tiny_manifest(sources=[{"source": "synthetic.smiles", "n": 4}])), out, workers=1)
    Build(load_manifest(tiny_manifest(sources=[{"source": "synthetic.smiles", "n": 4}])), out, workers=1, restart=True, progress=False).run()
    assert sum(1 for _ in rows_of(out)) == 4


def test_bad_rows_are_counted_drops(tmp_path, tiny_manifest):
    rows = [{"code": "CCO", "image": None}, {"code": "", "image": None}, {"code": "C" * (50 << 20), "image": None},
            {"code": "c1ccccc1", "image": {"bytes": b"not an image", "path": None}}, {"code": "C1CC(", "image": None}]
    path = tmp_path / "mols.parquet"
    feats = datasets.Features({"code": datasets.Value("string"), "image": datasets.Image()})
    datasets.Dataset.from_list(rows, features=feats).to_parquet(str(path))
    m = tiny_manifest(sources=[{"source": "hub:local/mols", "n": 10, "options": {
        "data_files": str(path), "code_column": "code", "image_column": "image", "lang": "smiles"}}],
        splits={"virl": 0, "sft": "rest"}, quality={"max_code_chars": 20000, "min_code_chars": 1})
    stats = Build(load_manifest(m), tmp_path / "out", workers=1, progress=False).run()
    table = stats.table()
    assert table["quality_code"]["smiles"] == {"in": 5, "out": 2, "dropped:empty_code": 1, "dropped:code_too_long": 1,
                                               "dropped:bad_source_image": 1}
    assert table["execution"]["smiles"]["dropped:syntax"] == 1
    assert [r[2] for r in rows_of(tmp_path / "out")] == ["CCO"]


def test_corrupt_input_file_is_named(tmp_path, tiny_manifest):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    m = tiny_manifest(sources=[{"source": "hub:local/x", "n": 3, "options": {"data_files": str(bad), "code_column": "c", "lang": "svg"}}])
    with pytest.raises(BuildError, match=r"^unit u-000-00000: SourceError: .*broken.parquet"):
        Build(load_manifest(m), tmp_path / "out", workers=1, progress=False).run()


def test_no_flawed_render_for_a_held_out_or_dropped_row(tmp_path, tiny_manifest):
    """Perturbations are rendered only for clean rows that end in sft (the split is decided first): none for
    virl rows, none dropped as parent_in_virl, and every optimize row's parent is an sft generate row."""
    m = tiny_manifest(sources=[{"source": "synthetic.svg", "n": 12}, {"source": "synthetic.smiles", "n": 8}],
                      perturb={"per_row": 1, "error_share": 0.2, "min_distance": 1, "max_distance": 40},
                      splits={"virl": 6, "test": 0, "sft": "rest"})
    out = tmp_path / "out"
    stats = Build(load_manifest(m), out, workers=1, progress=False).run()
    table = stats.table()
    rows = rows_of(out)
    sft_ids = {r[1] for r in rows if r[0] == "sft" and r[4] == "generate"}
    virl_ids = {r[1] for r in rows if r[0] == "virl"}
    assert len(virl_ids) == 6 and sft_ids
    assert sum(c["in"] for c in table["perturb"].values()) == len(sft_ids)  # per_row 1: one attempt per sft row
    assert not any("parent_in_virl" in key for c in table.get("optimize", {}).values() for key in c)
    planned = {i for p in (out / "work" / "perturb_plan").glob("*.json") for i in json.loads(p.read_text())}
    assert planned == sft_ids
    import pyarrow.parquet as pq
    parents = [json.loads(r["meta"])["parent"] for s in (out / "data").glob("*.parquet")
               for r in pq.read_table(s).to_pylist() if r["task"] == "optimize"]
    assert parents and set(parents) <= sft_ids


def test_an_exact_duplicate_twin_in_a_later_unit_is_not_perturbed(tmp_path, tiny_manifest):
    """The generator repeats an NCI molecule at samples 7 and 10 (units 1 and 2): dedup writes the first; only
    it is planned and perturbed, so no optimize row is dropped as exact_duplicate (each was a wasted render)."""
    m = tiny_manifest(sources=[{"source": "synthetic.smiles", "n": 12}], splits={"virl": 0, "test": 0, "sft": "rest"},
                      perturb={"per_row": 1, "error_share": 0.2, "min_distance": 1, "max_distance": 40})
    out = tmp_path / "out"
    table = Build(load_manifest(m), out, workers=1, progress=False).run().table()
    assert table["dedup"]["smiles"].get("dropped:exact_duplicate", 0) >= 1  # the twin is there
    plans = [json.loads(p.read_text()) for p in sorted((out / "work" / "perturb_plan").glob("*.json"))]
    planned = [i for plan in plans for i in plan]
    sft_ids = {r[1] for r in rows_of(out) if r[0] == "sft" and r[4] == "generate"}
    assert len(planned) == len(set(planned)) and set(planned) == sft_ids
    assert table["perturb"]["smiles"]["in"] == len(sft_ids)  # per_row 1: one attempt per written sft row
    assert "dropped:exact_duplicate" not in table["optimize"]["smiles"]


def test_the_build_records_cpu_per_step_and_language(reference):
    """stats.json holds CPU seconds per (step, language): each render step of each language cost something,
    and the card says where the time went."""
    _, out = reference
    from core.stats import Stats
    from pipelines.cost import per_row_costs

    stats = Stats.from_dict(json.loads((out / "stats.json").read_text()))
    for lang in ("svg", "smiles", "python"):
        assert stats.cpu[("execution", lang)] > 0 and stats.cpu[("harvest", lang)] > 0
    assert stats.cpu[("execution", "python")] > stats.cpu[("execution", "svg")]  # 6 charts cost more than 14 icons
    costs = per_row_costs(stats)
    assert set(costs) == {"svg", "smiles", "python"} and all(c["row"] > 0 for c in costs.values())
    assert "## Where the CPU went" in (out / "README.md").read_text()
