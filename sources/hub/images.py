"""Image cells as bytes: raw bytes, ``datasets`` Image dicts, PIL images, lists, or a path into a
folder or zip archive (LLaVA-style JSON datasets keep ``images/x.png`` beside the rows)."""
from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any


def image_bytes(value: Any, root: "ImageRoot | None" = None) -> bytes | None:
    """PNG/JPEG bytes of an image cell; a path string is read from ``root``."""
    if value is None:
        return None
    if isinstance(value, list):
        return image_bytes(value[0], root) if value else None
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        return image_bytes(value.get("path"), root) if value.get("path") else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return root.read(value) if root is not None else None
    if hasattr(value, "save"):
        out = io.BytesIO()
        value.save(out, format="PNG")
        return out.getvalue()
    return None


@dataclass
class ImageRoot:
    """A folder or a zip archive that a dataset's image paths point into.

    A path is looked up as given, then under each top-level folder of the archive (Web2Code's
    rows say ``games/01/x.png`` while its zip holds ``Web2Code_image/games/01/x.png``), then
    without its first folder.
    """

    path: str
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    _names: frozenset[str] = field(default=frozenset(), repr=False)
    _tops: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            self._names = frozenset(self._zip.namelist())
            self._tops = tuple(sorted({n.split("/", 1)[0] for n in self._names if "/" in n}))
        elif os.path.isdir(self.path):
            self._tops = tuple(sorted(d for d in os.listdir(self.path) if os.path.isdir(os.path.join(self.path, d))))
        else:
            raise FileNotFoundError(f"image_root {self.path!r} is neither a folder nor a zip archive")

    def candidates(self, name: str) -> list[str]:
        """The name as given, under each top-level folder, and without its first folder (rows that say
        ``images/x.png`` while the root *is* ``images/``)."""
        name = str(PurePosixPath(name.replace("\\", "/"))).lstrip("/")
        inner = [name.split("/", 1)[1]] if "/" in name else []
        return [name, *(f"{top}/{name}" for top in self._tops), *inner]

    def read(self, name: str) -> bytes | None:
        for candidate in self.candidates(name):
            if self._zip is not None:
                if candidate in self._names:
                    return self._zip.read(candidate)
            else:
                full = os.path.join(self.path, candidate)
                if os.path.isfile(full):
                    with open(full, "rb") as fh:
                        return fh.read()
        return None
