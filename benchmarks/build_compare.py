"""Same rows before and after a change: builds a manifest with the code of ``--base REF`` (checked out
into a temporary git worktree) and with this checkout, then compares the written rows in order, every
column (``meta`` without its ``render_ms`` timing). A refactoring that claims "behaviour unchanged"
proves it here. A relative manifest path is read from each revision's own tree (its fields may differ).

    python benchmarks/build_compare.py --base REF [manifests/demo.yaml] [--limit N]
    python benchmarks/build_compare.py --folders BEFORE_DIR AFTER_DIR     # two builds already made

Exit status 1 when any row or its order differs; the first differences are listed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
TIMING_KEYS = ("render_ms",)


def rows(folder: Path) -> list[dict]:
    """Every written row of a build folder in shard order, ``meta`` without timings."""
    out = []
    for shard in sorted((folder / "data").glob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            meta = json.loads(row["meta"] or "{}")
            for key in TIMING_KEYS:
                meta.pop(key, None)
            out.append({**row, "meta": meta, "shard": shard.name})
    return out


def differences(before: list[dict], after: list[dict]) -> list[str]:
    found = []
    if len(before) != len(after):
        found.append(f"{len(before)} rows before, {len(after)} after")
    for i, (a, b) in enumerate(zip(before, after)):
        columns = [c for c in a if a[c] != b.get(c)]
        if columns:
            found.append(f"row {i} ({a['id']} / {b.get('id')}): {', '.join(columns)}")
    return found


def build(code_root: Path, manifest: str, out: Path, limit: int | None) -> float:
    path = Path(manifest) if Path(manifest).is_absolute() else code_root / manifest  # each revision reads its own copy
    cmd = [sys.executable, "-m", "pipelines.cli", "build", str(path), "--out", str(out), "--no-report"]
    start = time.perf_counter()
    done = subprocess.run(cmd + (["--limit", str(limit)] if limit else []), cwd=code_root, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the build in {code_root} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", nargs="?", default="manifests/demo.yaml")
    parser.add_argument("--base", help="git revision whose code builds the 'before' rows")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--folders", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.folders:
        before_dir, after_dir = args.folders
        report(rows(before_dir), rows(after_dir), "")
        return
    if not args.base:
        parser.error("give --base REF or --folders BEFORE AFTER")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.base], cwd=ROOT, check=True, capture_output=True)
        try:
            before_s = build(tree, args.manifest, Path(tmp) / "before", args.limit)
            after_s = build(ROOT, args.manifest, Path(tmp) / "after", args.limit)
            report(rows(Path(tmp) / "before"), rows(Path(tmp) / "after"),
                   f"build with {args.base}: {before_s:.0f} s; with this checkout: {after_s:.0f} s\n")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)


def report(before: list[dict], after: list[dict], header: str) -> None:
    found = differences(before, after)
    print(f"{header}{len(before)} rows before, {len(after)} after; rows that differ in order or in any column: {len(found)}")
    for line in found[:20]:
        print("  " + line)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
