"""Paths that come from untrusted data, confined to their root.

A Hub row's image path, an archive member's name, a file under a ``dir:`` tree: each names a file
*inside* a root, and must never name one outside it. ``confine`` normalises such a name and refuses
what could leave the root (absolute, drive letter, ``..``, NUL); ``open_beneath`` then opens it one
component at a time without following a link, so a symlink anywhere on the way (planted in the
tree, or swapped in after the listing) fails instead of leading elsewhere.
"""
from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import PurePosixPath

from .errors import Rejected

DRIVE = re.compile(r"[A-Za-z]:")


def confine(name: str) -> str:
    """``name`` as a normalised relative POSIX path (``\\`` read as ``/``, ``.`` and empty parts
    dropped), or ``Rejected("unsafe_path")`` when it is empty, absolute, has a drive letter, a NUL or
    a ``..`` part."""
    if not isinstance(name, str) or not name:
        raise Rejected("unsafe_path", "not a path")
    posix = name.replace("\\", "/")
    if "\x00" in posix or posix.startswith("/") or DRIVE.match(posix):
        raise Rejected("unsafe_path", "an absolute path, not one inside the root")
    parts = [part for part in posix.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise Rejected("unsafe_path", "a '..' part leads out of the root")
    if not parts:
        raise Rejected("unsafe_path", "names the root itself")
    return "/".join(parts)


def open_beneath(root: str | os.PathLike, name: str) -> int:
    """A read-only descriptor of ``root/name`` (``name`` is confined first), opened one component at
    a time with ``O_NOFOLLOW``: a symlink component is ``Rejected("symlink_in_path")``; a missing
    file is ``FileNotFoundError``."""
    parts = PurePosixPath(confine(name)).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            child = _open_component(fd, part, os.O_RDONLY | os.O_DIRECTORY)
            os.close(fd)
            fd = child
        return _open_component(fd, parts[-1], os.O_RDONLY | os.O_NONBLOCK)
    finally:
        os.close(fd)


def _open_component(dir_fd: int, part: str, flags: int) -> int:
    try:
        return os.open(part, flags | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and _is_link(dir_fd, part)):
            raise Rejected("symlink_in_path", f"{part!r} on the way is a symbolic link; links are never followed") from None
        raise


def _is_link(dir_fd: int, part: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(part, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


class TooLarge(Rejected):
    """A file declares more bytes than its cap; nothing of it was read."""

    def __init__(self, size: int, cap: int):
        super().__init__("too_large", f"{size:,} bytes, over the {cap:,}-byte cap")


def read_beneath(root: str | os.PathLike, name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``root/name`` (see ``open_beneath``), its size checked on the
    open descriptor before reading: ``TooLarge`` over ``max_bytes``, ``Rejected("not_a_file")`` for a
    folder, FIFO or device."""
    fd = open_beneath(root, name)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Rejected("not_a_file", "not a regular file")
        if info.st_size > max_bytes:
            raise TooLarge(info.st_size, max_bytes)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise TooLarge(len(data), max_bytes)
    return data
