from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

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


def rows_of(folder: Path) -> list[tuple]:
    """(split, id, code, image bytes, task) of every row, in shard order."""
    out = []
    for shard in sorted((folder / "data").glob("*.parquet")):
        for r in pq.read_table(shard).to_pylist():
            out.append((shard.name.split("-")[0], r["id"], r["code"], r["image"]["bytes"], r["task"]))
    return out


def as_at_a_terminal() -> None:
    """Ctrl-C reaches the child as it would at a terminal: a shell starts a background job with SIGINT
    ignored (POSIX), and a suite run as one (``make test &``, CI wrappers) would pass that on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def build_cli(manifest: Path, out: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "build", str(manifest), "--out", str(out),
                             "--workers", "1", "--no-report", *extra], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, env=env, preexec_fn=as_at_a_terminal)


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """The tiny manifest built once, uninterrupted, by the local executor."""
    folder = tmp_path_factory.mktemp("ref")
    manifest = folder / "tiny.yaml"
    manifest.write_text(yaml.safe_dump(TINY))
    proc = build_cli(manifest, folder / "out")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    return manifest, folder / "out"
