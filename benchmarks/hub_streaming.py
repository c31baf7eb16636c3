"""Streaming at scale: time to the first row of each build unit of a hub source, first vs last.

Writes a local Parquet copy of a dataset in VinciCoder's SFT layout (``user_content``,
``assistant_content``, raw PNG bytes in ``image``), ROWS rows over FILES files, then opens the
source the way a build unit does (``start = k * unit_rows``) and times the first row of the first,
middle and last units. With footer-based slicing these are flat; the old way (read from the start
and skip ``start`` rows) is timed for the last unit beside it.

    python benchmarks/hub_streaming.py [--rows 100000] [--files 8] [--unit-rows 5000] [--row-group 1000]
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources.base import open_source  # noqa: E402

SPEC = "hub:DocTron-Hub/VinciCoder-1.6M-SFT"


def tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def write_fixture(folder: Path, rows: int, files: int, row_group: int) -> str:
    image = tiny_png()
    per_file = -(-rows // files)
    schema = pa.schema([("user_content", pa.string()), ("assistant_content", pa.string()), ("image", pa.binary())])
    for f in range(files):
        lo, hi = f * per_file, min(rows, (f + 1) * per_file)
        table = pa.table({"user_content": ["<image>\nWrite SVG code for this icon."] * (hi - lo),
                          "assistant_content": [f"```svg\n<svg xmlns='http://www.w3.org/2000/svg'><rect width='{i}'/></svg>\n```"
                                                for i in range(lo, hi)],
                          "image": [image] * (hi - lo)}, schema=schema)
        pq.write_table(table, folder / f"img2svg_{f}.parquet", row_group_size=row_group)
    return str(folder / "img2svg_*.parquet")


def first_row_s(options: dict, start: int, skip_from_zero: bool = False) -> float:
    t0 = time.perf_counter()
    if skip_from_zero:
        next(islice(open_source(SPEC, start=0, options=options), start, None))
    else:
        next(open_source(SPEC, start=start, options=options))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--unit-rows", type=int, default=5000)
    parser.add_argument("--row-group", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        options = {"data_files": write_fixture(Path(tmp), args.rows, args.files, args.row_group)}
        units = -(-args.rows // args.unit_rows)
        picks = {"first": 0, "middle": units // 2, "last": units - 1}
        print(f"{args.rows:,} rows in {args.files} files, row groups of {args.row_group:,}, {units} units of {args.unit_rows:,}")
        print(f"{'unit':<8} {'start':>8} {'first row, sliced (ms)':>24}")
        results = {}
        for name, k in picks.items():
            results[name] = min(first_row_s(options, k * args.unit_rows) for _ in range(args.repeat))
            print(f"{name:<8} {k * args.unit_rows:>8,} {results[name] * 1000:>24.1f}")
        old = first_row_s(options, picks["last"] * args.unit_rows, skip_from_zero=True)
        print(f"last unit by skipping from row 0 (the old way): {old * 1000:.1f} ms")
        print(f"last/first (sliced): {results['last'] / results['first']:.2f}x")


if __name__ == "__main__":
    main()
