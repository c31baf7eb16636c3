"""Errors every layer may raise or catch; each message names the file, row or field at fault."""
from __future__ import annotations


class SourceError(ValueError):
    """A source spec or its input is wrong; the message names the spec, file or row."""


class BuildError(RuntimeError):
    """A build cannot go on (a foreign build in the folder, unfinished units, units that kept failing)."""


class Rejected(ValueError):
    """Untrusted input a host-side parser refuses (a path out of its root, a size over its cap, a
    parser's own failure): the one typed error of ``core.paths``/``core.bounded``. ``reason`` is the
    drop reason (a short slug); the message is one line naming what was refused."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
