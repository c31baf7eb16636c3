"""Errors every layer may raise or catch; each message names the file, row or field at fault."""
from __future__ import annotations


class SourceError(ValueError):
    """A source spec or its input is wrong; the message names the spec, file or row."""


class BuildError(RuntimeError):
    """A build cannot go on (a foreign build in the folder, unfinished units, units that kept failing)."""
