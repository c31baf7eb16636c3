"""Image cells as bytes: raw bytes, ``datasets`` Image dicts, PIL images, lists, or a path into a
folder or zip archive (LLaVA-style JSON datasets keep ``images/x.png`` beside the rows).

A path in a row is untrusted: it is confined to the image root (``core.paths``), so a row that
says ``../../token`` or ``/etc/passwd``, or reaches through a symbolic link, is ``Rejected`` -- the
row is dropped with that reason and not one byte outside the root is read.
"""
from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

from core.errors import Rejected
from core.paths import TooLarge, confine, read_beneath

MAX_IMAGE_BYTES = 32 << 20


def image_bytes(value: Any, root: "ImageRoot | None" = None) -> bytes | None:
    """PNG/JPEG bytes of an image cell; a path string is read from ``root`` (``Rejected`` when it
    would leave it)."""
    if value is None:
        return None
    if isinstance(value, list):
        return image_bytes(value[0], root) if value else None
    if isinstance(value, dict):  # only bytes are bytes: ``bytes(25_275_973_576)`` would allocate 25 GB of zeros
        data, path = value.get("bytes"), value.get("path")
        if isinstance(data, (bytes, bytearray, memoryview)) and data:
            return bytes(data)
        return image_bytes(path, root) if isinstance(path, str) and path else None
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
    without its first folder -- always inside the root.
    """

    path: str
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    _members: dict[str, zipfile.ZipInfo] = field(default_factory=dict, repr=False)
    _tops: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            self._members = {info.filename: info for info in self._zip.infolist() if not info.is_dir()}
            self._tops = tuple(sorted({n.split("/", 1)[0] for n in self._members if "/" in n}))
        elif os.path.isdir(self.path):
            self._tops = tuple(sorted(d for d in os.listdir(self.path)
                                      if os.path.isdir(os.path.join(self.path, d)) and not os.path.islink(os.path.join(self.path, d))))
        else:
            raise FileNotFoundError(f"image_root {self.path!r} is neither a folder nor a zip archive")

    def candidates(self, name: str) -> list[str]:
        """The confined name, under each top-level folder, and without its first folder (rows that say
        ``images/x.png`` while the root *is* ``images/``)."""
        name = confine(name)
        inner = [name.split("/", 1)[1]] if "/" in name else []
        return [name, *(f"{top}/{name}" for top in self._tops), *inner]

    def read(self, name: str) -> bytes | None:
        """The bytes at ``name`` inside the root, ``None`` where no candidate exists; ``Rejected`` for
        a path that leaves the root, a symbolic link on the way, or a file over ``MAX_IMAGE_BYTES``."""
        try:
            return self._read(name)
        except Rejected as exc:
            raise Rejected(exc.reason, f"image path {name!r}: {exc}") from None

    def _read(self, name: str) -> bytes | None:
        for candidate in self.candidates(name):
            if self._zip is not None:
                info = self._members.get(candidate)
                if info is not None:
                    if info.file_size > MAX_IMAGE_BYTES:
                        raise TooLarge(info.file_size, MAX_IMAGE_BYTES)
                    with self._zip.open(info) as fh:
                        return fh.read(MAX_IMAGE_BYTES + 1)[:MAX_IMAGE_BYTES]
            else:
                try:
                    return read_beneath(self.path, candidate, MAX_IMAGE_BYTES)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                except Rejected as exc:
                    if exc.reason == "not_a_file":
                        continue
                    raise
        return None
