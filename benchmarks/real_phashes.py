"""Real pHash distributions for the dedup benchmark, cached as ``benchmarks/data/phashes-*.npy``.

Uniform random hashes flatter a near-duplicate index: real pHashes cluster (white backgrounds,
shared layouts), so chunk buckets grow. This renders the fast synthetic languages in-process
(no sandbox: the same renderer classes and PNG normalisation as the worker, the same decode,
image checks and ``phash_of`` as the execution filter) and stores each language's kept hashes.
Progress is saved every batch, so an interrupted run resumes where it stopped.

    python benchmarks/real_phashes.py [--rows 60000] [--langs svg,smiles]   # per language, ~35-45 ms a sample
    python benchmarks/real_phashes.py --parquet out/demo --name demo  # hashes of a built dataset's rows
    python benchmarks/real_phashes.py --dir dir:/path/to/tree  # hashes of a real file tree
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters.dedup import hex_to_u64, phash_of  # noqa: E402
from filters.execution import decode  # noqa: E402
from filters.quality import image_reason  # noqa: E402
from filters.render.base import RenderError, normalize_png, renderer_class  # noqa: E402
from pipelines.manifest import QualityConfig  # noqa: E402
from sources.base import open_source  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
BATCH = 2000


def synthetic_path(lang: str, rows: int) -> Path:
    return DATA / f"phashes-synthetic-{lang}-{rows}.npy"


def kept_phash(renderer, code: str, quality: QualityConfig) -> str | None:
    """The execution filter's hash of one sample, or None where the filter would drop it."""
    try:
        png, _, _ = normalize_png(renderer.render(code, "", 30.0), renderer.canvas)
    except RenderError:
        return None
    image = decode(png)
    if image_reason(image, quality.min_side, quality.max_pixels, quality.max_aspect, quality.min_std,
                    quality.max_dominant_share):
        return None
    return phash_of(image)


def save_atomic(path: Path, values: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, values)
    os.replace(tmp, path)


def build_synthetic(lang: str, rows: int, seed: int = 0) -> np.ndarray:
    """``rows`` samples of ``synthetic.<lang>`` rendered and hashed; resumes from its partial file.

    The partial file holds the hashes so far followed by one last entry: the next sample index.
    """
    final, partial = synthetic_path(lang, rows), DATA / f"phashes-synthetic-{lang}-{rows}.partial.npy"
    if final.exists():
        return np.load(final)
    DATA.mkdir(parents=True, exist_ok=True)
    saved = np.load(partial) if partial.exists() else np.zeros(1, dtype=np.uint64)
    hashes, start = list(saved[:-1]), int(saved[-1])
    renderer = renderer_class(lang)()
    renderer.setup()
    quality = QualityConfig()
    t0, first = time.monotonic(), start
    while start < rows:
        count = min(BATCH, rows - start)
        for sample in islice(open_source(f"synthetic.{lang}", seed=seed, start=start), count):
            value = kept_phash(renderer, sample.code, quality)
            if value is not None:
                hashes.append(np.uint64(int(value, 16)))
        start += count
        save_atomic(partial, np.array([*hashes, start], dtype=np.uint64))
        rate = (start - first) / max(time.monotonic() - t0, 1e-9)
        print(f"{lang}: {start:,}/{rows:,} samples, {len(hashes):,} kept ({rate:.0f}/s)", flush=True)
    values = np.array(hashes, dtype=np.uint64)
    save_atomic(final, values)
    partial.unlink(missing_ok=True)
    return values


def parquet_hashes(path: str) -> dict[str, np.ndarray]:
    """Per-language hashes of a built dataset's generate rows (``phash`` column); a build's output
    directory is read from its ``data/`` folder (its other folders hold other tables)."""
    import pyarrow.dataset as ds

    root = Path(path) / "data" if (Path(path) / "data").is_dir() else Path(path)
    table = ds.dataset(root, format="parquet").to_table(columns=["lang", "task", "phash"])
    rows = [r for r in table.to_pylist() if r["task"] == "generate" and r["phash"]]
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["lang"], []).append(r["phash"])
    return {lang: hex_to_u64(values) for lang, values in out.items()}


def dir_hashes(spec: str, limit: int) -> dict[str, np.ndarray]:
    """Per-language hashes of a ``dir:`` tree's units that render in-process (svg and smiles only)."""
    quality, renderers, out = QualityConfig(), {}, {}
    for sample in islice(open_source(spec), limit):
        if sample.lang not in ("svg", "smiles"):
            continue
        if sample.lang not in renderers:
            renderers[sample.lang] = renderer_class(sample.lang)()
            renderers[sample.lang].setup()
        value = kept_phash(renderers[sample.lang], sample.code, quality)
        if value is not None:
            out.setdefault(sample.lang, []).append(int(value, 16))
    return {lang: np.array(v, dtype=np.uint64) for lang, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60000, help="samples per language")
    parser.add_argument("--langs", default="svg,smiles")
    parser.add_argument("--parquet", help="a built dataset directory: store its rows' hashes")
    parser.add_argument("--dir", help="a dir: source spec: store its svg/smiles units' hashes")
    parser.add_argument("--name", default="tree", help="file name part for --parquet/--dir output")
    parser.add_argument("--max", type=int, default=100000)
    args = parser.parse_args()
    if args.parquet or args.dir:
        found = parquet_hashes(args.parquet) if args.parquet else dir_hashes(args.dir, args.max)
        DATA.mkdir(parents=True, exist_ok=True)
        for lang, values in found.items():
            save_atomic(DATA / f"phashes-{args.name}-{lang}.npy", values)
            print(f"{args.name} {lang}: {len(values):,} hashes")
        return
    for lang in args.langs.split(","):
        hashes = build_synthetic(lang, args.rows)
        print(f"synthetic.{lang}: {len(hashes):,} hashes of {args.rows:,} samples -> {synthetic_path(lang, args.rows)}")


if __name__ == "__main__":
    main()
