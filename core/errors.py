"""Errors every layer may raise or catch; each message names the file, row or field at fault.

Every error vinci raises on purpose derives from ``VinciError``: the command line catches that one
class, once (``pipelines.cli.main``), and prints ``error: <one line>`` with the error's exit code. A
traceback therefore always means a bug in vinci, never bad input.
"""
from __future__ import annotations

from pathlib import Path


class VinciError(Exception):
    """The root of vinci's errors: one line for the user and the exit status it ends the command with.

    ``path`` and ``row``, where known, lead the message (``data.jsonl: row 7: ...``); most errors
    already name them in their message and pass neither."""

    exit_code: int = 1

    def __init__(self, message: str = "", *, path: str | Path | None = None, row: int | str | None = None):
        where = [str(path)] if path is not None else []
        where += [f"row {row}"] if row is not None else []
        super().__init__(": ".join([*where, message]) if where else message)

    def line(self) -> str:
        """The message as one line (a multi-line message from a library is joined, not cut)."""
        text = self.args[0] if self.args and isinstance(self.args[0], str) else str(self)
        return " ".join(part.strip() for part in text.splitlines() if part.strip()) or type(self).__name__


class UsageError(VinciError):
    """Options that do not go together, or a value a command refuses before any work (exit status 2,
    as argparse's own usage errors)."""

    exit_code = 2


class SourceError(VinciError, ValueError):
    """A source spec or its input is wrong; the message names the spec, file or row."""


class BuildError(VinciError, RuntimeError):
    """A build cannot go on (a foreign build in the folder, unfinished units, units that kept failing)."""


class Rejected(VinciError, ValueError):
    """Untrusted input a host-side parser refuses (a path out of its root, a size over its cap, a
    parser's own failure): the one typed error of ``core.paths``/``core.bounded``. ``reason`` is the
    drop reason (a short slug); the message is one line naming what was refused."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
