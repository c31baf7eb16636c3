"""``dir:PATH``: a folder or a .zip/.tar[.gz] archive of real files (``sources/files.py``)."""
from __future__ import annotations

import os

from ..files import FileSource, stream
from ..registry import SourceKind, source_kind


@source_kind
class Directory(SourceKind):
    prefix = "dir"
    usage = "dir:<path>"

    def open(self, seed: int = 0, start: int = 0) -> FileSource:
        return stream(self.rest, seed=seed, start=start)

    def details(self) -> str:
        return f"{self.spec}: files"

    def problem(self) -> str | None:
        return None if os.path.exists(self.rest) else f"{self.spec}: no such folder or archive"
