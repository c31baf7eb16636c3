"""All-or-nothing writes: a reader sees the old file or the new one, never half of one.

Every file vinci writes goes through a sibling temporary (named ``.<name>.tmp-<pid>-<thread>``, so a
crash leaves something recognisable to sweep, and two threads of one process writing the same path
never share a temporary) and ``os.replace``.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator


def temporary_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_native_id()}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is removed."""
    path = Path(path)
    tmp = temporary_of(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False))


def write_yaml(path: str | Path, data: Any) -> None:
    import yaml

    write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def write_table(path: str | Path, table, compression: str = "zstd") -> None:
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression)


@contextlib.contextmanager
def exclusive(path: str | Path) -> Iterator[None]:
    """Hold an advisory lock on ``path`` (created if missing): one holder at a time across threads and
    processes of this machine, released when the holder ends, even by a crash."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def leftovers(folder: Path) -> list[Path]:
    """Temporaries a killed writer left in ``folder``."""
    return sorted(folder.glob("*.tmp-*"))
