"""Text files a user hands the command line (manifests, training configs), read as UTF-8; a failure is one
line that names the file and what is wrong with it."""
from __future__ import annotations

from pathlib import Path

from .errors import VinciError


class InputError(VinciError, ValueError):
    """An input file that cannot be read as text; the message names it."""


def read_utf8(path: str | Path) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} on line {line}); "
                         "save it as UTF-8") from None
