"""Code inside Markdown: the fence a prompt asks for, and the blocks a reply or a dataset holds.

A fence's tag names its language through the registry (``py``, ``tikz``, ``smi`` ...), so a
language whose tags are listed there is understood by the harvesters, the rewards and ``eval``
alike; a tag the registry does not know gives ``None``.
"""
from __future__ import annotations

import re

from .languages import FENCE_TAGS

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)


def fence_language(tag: str) -> str | None:
    return FENCE_TAGS.get(tag.lower())


def fenced(lang: str, code: str) -> str:
    return f"```{lang}\n{code.rstrip()}\n```"


def fenced_blocks(text: str | None) -> list[tuple[str | None, str]]:
    """(language or None, body) of every fenced block, in order."""
    return [(fence_language(tag), body.strip("\n")) for tag, body in FENCE.findall(text or "")]


def last_fenced_block(text: str | None) -> tuple[str | None, str | None]:
    """The language and body of the last fenced code block in ``text``."""
    blocks = fenced_blocks(text)
    return blocks[-1] if blocks else (None, None)
