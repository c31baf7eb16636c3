"""The options of a ``hub:`` source, typed (``sources.registry`` checks them on resolution)."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from ..registry import SourceOptions


class HubOptions(SourceOptions):
    """``data_files``/``image_root``: a local copy instead of the Hub's files; ``offset``: rows left to
    another recipe; the rest override the dataset's registry entry (or describe an unregistered one)."""

    streaming: bool = True  # accepted for old manifests: every read is a sliced stream
    data_files: Any = None
    image_root: str | None = None
    offset: int = Field(0, ge=0)
    code_column: str | None = None
    image_column: str | None = None
    lang: str | None = None
    chat: bool | None = None
    license: str | None = None
    split: str | None = None
    config: str | None = None
    layout: str | None = None
