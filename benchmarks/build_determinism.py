"""Same manifest, same rows: builds a manifest twice -- once as the machine is, once with every core
kept busy (and, with ``--executor ray``, the second time on Ray) -- and compares every row's id, code,
image bytes and flawed image bytes.

    python benchmarks/build_determinism.py [manifests/demo.yaml] [--limit N] [--executor local|ray]

Exit status 1 when any row differs; the differing rows are listed.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.render_determinism import Burners  # noqa: E402


def digest(value) -> str:
    if value is None:
        return "-"
    data = value["bytes"] if isinstance(value, dict) else value
    return hashlib.sha256(data or b"").hexdigest()[:16]


def rows_of(folder: Path) -> dict[str, tuple]:
    """id → (split, code, image digest, flawed image digest) of every row of a build."""
    out = {}
    for shard in sorted((folder / "data").glob("*.parquet")):
        split = shard.name.split("-")[0]
        for row in pq.read_table(shard, columns=["id", "code", "image", "flawed_image"]).to_pylist():
            out[row["id"]] = (split, hashlib.sha256(row["code"].encode()).hexdigest()[:16], digest(row["image"]),
                              digest(row.get("flawed_image")))
    return out


def build(manifest: str, out: Path, executor: str, limit: int | None) -> float:
    cmd = [sys.executable, "-m", "pipelines.cli", "build", manifest, "--out", str(out), "--executor", executor,
           "--no-report"] + (["--limit", str(limit)] if limit else [])
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", nargs="?", default="manifests/demo.yaml")
    parser.add_argument("--limit", type=int, default=None, help="build only the first N samples of each source")
    parser.add_argument("--executor", default="local", choices=["local", "ray"], help="executor of the busy build")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        quiet_s = build(args.manifest, Path(tmp) / "quiet", "local", args.limit)
        with Burners():
            busy_s = build(args.manifest, Path(tmp) / "busy", args.executor, args.limit)
        quiet, busy = rows_of(Path(tmp) / "quiet"), rows_of(Path(tmp) / "busy")
    only_quiet, only_busy = sorted(set(quiet) - set(busy)), sorted(set(busy) - set(quiet))
    changed = sorted(i for i in set(quiet) & set(busy) if quiet[i] != busy[i])
    print(f"quiet build (local): {len(quiet)} rows in {quiet_s:.0f} s; busy build ({args.executor}, every core "
          f"busy): {len(busy)} rows in {busy_s:.0f} s")
    print(f"rows only in the quiet build: {len(only_quiet)}; only in the busy build: {len(only_busy)}; "
          f"same id, different bytes: {len(changed)}")
    for row_id in (only_quiet + only_busy + changed)[:20]:
        print(f"  {row_id}: quiet {quiet.get(row_id)} busy {busy.get(row_id)}")
    sys.exit(1 if only_quiet or only_busy or changed else 0)


if __name__ == "__main__":
    main()
