"""Rows of a dataset's files from row ``start`` on, reading only what that slice needs.

A build unit asks for rows ``start .. start + unit_rows``. Parquet files are opened by their
footers (row counts per file and per row group), the files and row groups before ``start`` are
passed over unread, and reading begins at the row group that holds ``start``: the last unit of a
600k-row source costs what the first does. JSON files (LLaVA-style datasets) are converted once
into ``datasets``' memory-mapped Arrow cache and indexed from ``start`` directly.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any, Iterator

from core.atomic import atomic_path, exclusive
from core.errors import SourceError

BATCH_ROWS = 64
MAX_CELL_BYTES = 64 << 20
MAX_CHUNK_BYTES = 256 << 20
MAX_LINE_BYTES = 64 << 20


@dataclass(frozen=True)
class Row:
    """One row of a data file; ``error`` says why it was not read (its cells are then empty)."""

    file: str
    index: int
    data: dict[str, Any]
    error: str | None = None


def local_files(data_files: Any, split: str) -> list[str]:
    """The files of the ``data_files`` option (a path, glob, list, or ``{split: ...}``), sorted per entry."""
    if isinstance(data_files, dict):
        if split not in data_files:
            raise SourceError(f"data_files has no split {split!r} (it has {', '.join(map(str, data_files))})")
        data_files = data_files[split]
    entries = data_files if isinstance(data_files, list) else [data_files]
    files: list[str] = []
    for entry in entries:
        entry = os.path.expanduser(str(entry))
        matches = sorted(glob.glob(entry)) if glob.has_magic(entry) else [entry]
        if not matches:
            raise SourceError(f"data_files {entry!r} matches no file")
        files.extend(matches)
    return files


def hub_files(pattern: str) -> tuple[list[str], Any]:
    """The files behind an ``hf://`` glob and the filesystem that reads them (ranged reads, no full download)."""
    from huggingface_hub import HfFileSystem

    fs = HfFileSystem()
    files = sorted(fs.glob(pattern.removeprefix("hf://")))
    if not files:
        raise SourceError(f"{pattern} matches no file on the Hub")
    return files, fs


def read_rows(files: list[str], start: int, filesystem: Any = None) -> Iterator[Row]:
    """Rows ``start, start+1, ...`` across ``files`` in order (Parquet sliced by footer; others cached)."""
    if all(f.endswith(".parquet") for f in files):
        return parquet_rows(files, start, filesystem)
    if filesystem is not None:
        files = [download(filesystem, f) for f in files]
    return indexed_rows(files, start)


def parquet_rows(files: list[str], start: int, filesystem: Any = None) -> Iterator[Row]:
    import pyarrow.parquet as pq

    offset = 0
    for path in files:
        try:
            pf = pq.ParquetFile(filesystem.open(path, "rb") if filesystem is not None else path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a broken footer
            raise SourceError(f"{path}: cannot read Parquet footer: {type(exc).__name__}: {exc}") from exc
        rows_here = pf.metadata.num_rows
        if offset + rows_here <= start:
            offset += rows_here
            continue
        groups, skip = [], 0
        for g in range(pf.num_row_groups):
            size = pf.metadata.row_group(g).num_rows
            if offset + size <= start and not groups:
                offset += size
                continue
            if not groups:
                skip = max(0, start - offset)
            groups.append(g)
        index = offset
        try:
            for g in groups:
                size = pf.metadata.row_group(g).num_rows
                too_big = oversized_chunk(pf.metadata.row_group(g))
                if too_big:
                    for row in range(index, index + size):
                        if skip:
                            skip -= 1
                        else:
                            yield Row(path, row, {}, f"{path} row {row}: {too_big}")
                    index += size
                    continue
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[g]):
                    big = oversized_cells(batch)
                    for k, data in enumerate(batch.to_pylist() if not big else _rows_without(batch, big)):
                        if skip:
                            skip -= 1
                        elif k in big:
                            yield Row(path, index, {}, f"{path} row {index}: {big[k]}")
                        else:
                            yield Row(path, index, data)
                        index += 1
        except Exception as exc:  # noqa: BLE001 - a corrupt page surfaces while reading
            raise SourceError(f"{path}: cannot read row {index}: {type(exc).__name__}: {exc}") from exc
        offset = index


def oversized_chunk(group: Any) -> str | None:
    """Why a row group is not read (a column chunk that declares more than ``MAX_CHUNK_BYTES``
    uncompressed: a few KB of zstd can hold a gigabyte cell), from the footer alone; else ``None``."""
    for c in range(group.num_columns):
        chunk = group.column(c)
        if chunk.total_uncompressed_size > MAX_CHUNK_BYTES:
            return (f"column {chunk.path_in_schema!r} of its row group declares {chunk.total_uncompressed_size:,} bytes "
                    f"uncompressed, over the {MAX_CHUNK_BYTES:,}-byte cap; the row group is not read")
    return None


def oversized_cells(batch: Any) -> dict[int, str]:
    """``{row in batch: why}`` for the rows holding a cell over ``MAX_CELL_BYTES`` of strings and bytes
    (nested ones too: a list of image structs), measured on the Arrow buffers before any cell becomes
    a Python object."""
    big: dict[int, str] = {}
    for name, column in zip(batch.schema.names, batch.columns):
        sizes = cell_bytes(column)
        for k in (sizes > MAX_CELL_BYTES).nonzero()[0]:
            big.setdefault(int(k), f"cell {name!r} holds {int(sizes[k]):,} bytes, over the {MAX_CELL_BYTES:,}-byte cap")
    return big


def cell_bytes(array: Any):
    """Bytes of strings and binaries in each cell of an Arrow array, through structs and lists."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
        return pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_struct(kind):
        total = np.zeros(len(array), dtype=np.int64)
        for child in array.flatten():
            total += cell_bytes(child)
        return total
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = cell_bytes(array.flatten())
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
        return np.bincount(parents, weights=values, minlength=len(array)).astype(np.int64)
    return np.zeros(len(array), dtype=np.int64)


def _rows_without(batch: Any, big: dict[int, str]) -> Iterator[dict]:
    """The batch's rows as dicts, with an empty dict in place of each oversized row (never converted)."""
    for k in range(batch.num_rows):
        yield {} if k in big else batch.slice(k, 1).to_pylist()[0]


def check_lines(path: str) -> None:
    """Refuse a JSON Lines file holding a line over ``MAX_LINE_BYTES`` (decompressed), read in bounded
    pieces before ``datasets`` materialises it."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        line, length = 1, 0
        while chunk := fh.read(1 << 20):
            *ended, rest = chunk.split(b"\n")
            for piece in ended:
                if length + len(piece) > MAX_LINE_BYTES:
                    break
                line, length = line + 1, 0
            else:
                length += len(rest)
                if length <= MAX_LINE_BYTES:
                    continue
            raise SourceError(f"{path} line {line}: over {MAX_LINE_BYTES:,} bytes; refusing the file before parsing it")


def indexed_rows(files: list[str], start: int) -> Iterator[Row]:
    """JSON/JSON Lines/CSV through ``datasets``' Arrow cache, then random access from ``start``."""
    import datasets

    first = files[0]
    builder = "json" if first.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz")) else "csv" if first.endswith(".csv") else None
    if builder is None:
        raise SourceError(f"{first}: cannot tell the format (use .parquet, .json, .jsonl or .csv)")
    for path in files:
        if path.endswith((".jsonl", ".jsonl.gz")):
            check_lines(path)
    try:
        ds = datasets.load_dataset(builder, data_files=files, split="train")
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for unreadable input
        raise SourceError(f"{first}: cannot read: {type(exc).__name__}: {exc}") from exc
    origin = first if len(files) == 1 else ""
    for lo in range(start, len(ds), BATCH_ROWS):
        batch = ds[lo:lo + BATCH_ROWS]
        for k in range(len(next(iter(batch.values()), []))):
            yield Row(origin, lo + k, {c: v[k] for c, v in batch.items()})


def download(filesystem: Any, remote: str) -> str:
    """A local copy of a remote file or folder (JSON rows, an image zip), kept in the ``datasets`` cache.

    Downloaded once per machine: the units (threads, or Ray actors on one node) that want the same file
    wait on a lock beside it while the first one fetches it, then read its copy (an archive of tens of
    GB fetched by every unit of the first wave would cost that many times over)."""
    from datasets import config

    local = os.path.join(config.HF_DATASETS_CACHE, "vinci-hub-files", remote.replace("/", "__"))
    if os.path.exists(local):
        return local
    os.makedirs(os.path.dirname(local), exist_ok=True)
    with exclusive(local + ".lock"):
        if not os.path.exists(local):
            with atomic_path(local) as tmp:
                filesystem.get(remote, str(tmp), recursive=filesystem.isdir(remote))
    return local
