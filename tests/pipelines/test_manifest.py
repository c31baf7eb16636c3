from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.manifest import ManifestError, load_manifest

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def test_demo_manifest_loads():
    m = load_manifest(MANIFESTS / "demo.yaml")
    assert {e.source for e in m.sources} == {f"synthetic.{k}" for k in ("charts", "html", "svg", "latex", "smiles")}
    assert m.splits.virl == 200


@pytest.mark.parametrize("name, total", [("vincicoder-sft-1.6m.yaml", 1_600_000), ("vincicoder-virl-42k.yaml", 42_000)])
def test_full_recipes_validate_and_plan(name, total):
    m = load_manifest(MANIFESTS / name)
    assert sum(e.n for e in m.sources) == total
    assert all(e.source.startswith("hub:") and e.why for e in m.sources)
    plan = subprocess.run([sys.executable, "-m", "pipelines.cli", "build", "--plan", str(MANIFESTS / name)],
                          capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    assert f"{total:,}" in plan.stdout


def test_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources:\n  - {source: synthetic.svg, n: -3}\ndedup: {phash_radius: 4, typo: 1}\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(bad)
    assert "sources.0.n" in str(err.value) and "dedup.typo" in str(err.value)


def test_unknown_source_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources:\n  - {source: synthetic.cobol, n: 3}\n")
    with pytest.raises(ManifestError, match="unknown source"):
        load_manifest(bad)


def test_unknown_keys_suggest_the_close_one(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nshard_row: 10\nperturb: {per_rows: 1}\nsources:\n  - {source: synthetic.svg, n: 3}\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(bad)
    message = str(err.value)
    assert "shard_row: unknown field (did you mean 'shard_rows'?)" in message
    assert "perturb.per_rows: unknown field (did you mean 'per_row'?); known fields here: per_row, error_share" in message
    assert "\n" not in message


def test_unknown_source_suggests_and_lists_the_known(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources:\n  - {source: synthetic.chart, n: 3}\n")
    with pytest.raises(ManifestError, match=r"did you mean 'synthetic.charts'\?\); known: synthetic.charts, .*dir:<path>"):
        load_manifest(bad)


def test_unknown_source_options_are_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: x\nsources:\n  - {{source: 'dir:{tmp_path}', n: 3, options: {{langs: [svg]}}}}\n")
    with pytest.raises(ManifestError, match=r"sources.0.options: .*unknown option 'langs'; it takes no options"):
        load_manifest(bad)


def test_render_conventions_of_a_source_are_checked_and_override_its_dataset(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: x\nsources:\n  - source: synthetic.html\n    n: 3\n    render: {html: {viewport_width: 1280}}\n")
    entry = load_manifest(good).sources[0]
    assert entry.conventions_for("html", {"viewport_width": 1024, "full_page": False}) == {"viewport_width": 1280, "full_page": False}
    assert entry.conventions_for("svg", None) is None
    for render, message in (("{html: {viewport: 1280}}", "viewport_width"), ("{cobol: {x: 1}}", "unknown language"),
                            ("{python: {savefig: tight}}", "script, figure")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"name: x\nsources:\n  - source: synthetic.html\n    n: 3\n    render: {render}\n")
        with pytest.raises(ManifestError, match=message):
            load_manifest(bad)
