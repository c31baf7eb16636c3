"""Output paths of the command line, checked before any work is done; failures are one-line errors."""
from __future__ import annotations

import os
from pathlib import Path

from .atomic import write_bytes
from .errors import VinciError


class OutputError(VinciError, ValueError):
    """An output path that cannot be written; the message names it."""


def is_folder(output: str | None) -> bool:
    return bool(output) and (output.endswith(("/", os.sep)) or Path(output).is_dir())


def render_targets(files: list[Path], output: str | None) -> list[Path]:
    """Where each PNG of ``vinci render`` goes: one file → ``-o`` (``STEM.png`` here without it, into
    ``-o`` when that is a folder); several → ``OUTDIR/STEM.png``, refusing two files with one stem."""
    if len(files) == 1 and not is_folder(output):
        target = Path(output) if output else Path(files[0].with_suffix(".png").name)
        check_writable(target)
        return [target]
    outdir = Path(output or ".")
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"-o {output}: is a file, not a folder (several files render into a folder: -o OUTDIR/)")
    if not outdir.exists() and outdir.suffix and not is_folder(output):
        raise OutputError(f"-o {output}: names a file, but {len(files)} files render into a folder "
                          f"(-o {outdir.with_suffix('')}/)")
    targets = [outdir / (f.stem + ".png") for f in files]
    seen: dict[Path, Path] = {}
    for source, target in zip(files, targets):
        if target in seen:
            raise OutputError(f"{seen[target]} and {source} would both be written to {target}; "
                              "render files with the same name into different folders")
        seen[target] = source
    check_folder(outdir)
    return targets


def check_folder(folder: Path) -> None:
    """``folder`` exists (created if need be) and can be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"-o {folder}: cannot create the folder: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"-o {folder}: not writable")


def check_writable(target: Path) -> None:
    """``target`` is a file path whose folder can be created and written."""
    if target.is_dir():
        raise OutputError(f"-o {target}: is a folder (end it with / to write into it)")
    check_folder(target.parent)
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"-o {target}: not writable")


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write by rename: a reader never sees half a file."""
    try:
        write_bytes(target, data)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
