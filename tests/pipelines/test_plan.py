"""``vinci build --plan`` shows, per source, what will be read: dataset, config, split, layout, licence."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def plan_of(manifest: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "build", "--plan", str(ROOT / "manifests" / manifest)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("manifest", ["vincicoder-sft-1.6m.yaml", "vincicoder-virl-42k.yaml"])
def test_plan_names_dataset_config_split_layout_and_licence(manifest):
    out = plan_of(manifest)
    assert "WebSight: config v0.2, split train, layout columns, licence cc-by-4.0" in out
    assert "Chart2Code-160k: config -, split train, layout llava, licence apache-2.0" in out
    assert "held out (dedup.against): ChartMimic/ChartMimic: config chartmimic, split test" in out
    assert "[evaluation benchmark]" in out


def test_recipes_take_different_rows_and_virl_holds_out_the_sft_build():
    sft, virl = plan_of("vincicoder-sft-1.6m.yaml"), plan_of("vincicoder-virl-42k.yaml")
    assert "MolParser-7M: config pretrain_synthetic_7M, split train, layout columns, licence cc-by-nc-sa-4.0" in sft
    assert "VinciCoder-1.6M-SFT: config -, split train, layout vinci_sft" in sft
    assert "VinciCoder-42k-RL: config -, split train, layout easyr1" in virl
    assert "held out (dedup.against): out/vincicoder-sft-1.6m" in virl
    assert "Chart2Code-160k: config -, split train, layout llava, licence apache-2.0, files hf://datasets/xxxllz/Chart2Code-160k/*.json, from row 156,000" in virl
