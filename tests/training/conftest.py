from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_dinov2(tmp_path_factory):
    from training.models import build_tiny_dinov2

    return str(build_tiny_dinov2(tmp_path_factory.mktemp("dino") / "tiny-dinov2"))


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory):
    """A small real build (generate + optimize rows, sft + virl splits) to train on."""
    import yaml

    from pipelines.build import Build
    from pipelines.manifest import load_manifest

    folder = tmp_path_factory.mktemp("corpus")
    manifest = folder / "m.yaml"
    manifest.write_text(yaml.safe_dump({
        "name": "train-fixture", "seed": 3, "unit_rows": 6, "shard_rows": 50,
        "sources": [{"source": "synthetic.svg", "n": 8}, {"source": "synthetic.smiles", "n": 8}, {"source": "synthetic.charts", "n": 4}],
        "render": {"timeout_s": 10, "workers": 1},
        "perturb": {"per_row": 1.0, "error_share": 0.3},
        "splits": {"virl": 6, "sft": "rest"},
    }))
    Build(load_manifest(manifest), folder / "out", workers=1, progress=False).run()
    return str(folder / "out")
