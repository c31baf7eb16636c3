from __future__ import annotations

import pytest
import yaml

TINY = {
    "name": "tiny",
    "seed": 1,
    "sources": [{"source": "synthetic.svg", "n": 14}, {"source": "synthetic.smiles", "n": 12},
                {"source": "synthetic.charts", "n": 6}],
    "render": {"timeout_s": 10, "workers": 1},
    "dedup": {"phash_radius": 4},
    "splits": {"virl": 5, "test": 0, "sft": "rest"},
    "shard_rows": 10,
    "unit_rows": 4,
}


@pytest.fixture
def tiny_manifest(tmp_path):
    def make(**changes):
        data = {**TINY, **changes}
        path = tmp_path / f"tiny-{abs(hash(repr(sorted(changes.items())))) % 10**8}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return make
