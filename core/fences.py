"""Code inside Markdown: the fence a prompt asks for, and the blocks a reply or a dataset holds.

A fence's tag names its language through the registry (``py``, ``tikz``, ``smi`` ...), so a
language whose tags are listed there is understood by the harvesters, the rewards and ``eval``
alike; a tag the registry does not know gives ``None``.

Replies and dataset cells are untrusted, so blocks are found by one forward scan with ``str.find``
(linear in the text, whatever it holds), not by a backtracking regular expression: a block opens
at three backticks, takes the rest of that line as its info (the tag is the leading run of
``[A-Za-z0-9_+-]`` after spaces or tabs), and closes at the next three backticks after that line.
"""
from __future__ import annotations

from dataclasses import dataclass

from .languages import FENCE_TAGS

MARK = "```"
TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-")


@dataclass(frozen=True)
class Fence:
    """One fenced block: its tag as written, its body, and where it lies in the text (``end`` after the
    closing backticks)."""

    tag: str
    body: str
    start: int
    end: int


def fences(text: str | None) -> list[Fence]:
    """Every closed fenced block of ``text``, in order; an unclosed one ends the scan (a cell that is
    not text holds none)."""
    if not isinstance(text, str):
        return []
    found, pos = [], 0
    while (start := text.find(MARK, pos)) >= 0:
        newline = text.find("\n", start + 3)
        close = text.find(MARK, newline + 1) if newline >= 0 else -1
        if close < 0:
            break
        found.append(Fence(_tag(text, start + 3, newline), text[newline + 1:close], start, close + 3))
        pos = close + 3
    return found


def _tag(text: str, i: int, stop: int) -> str:
    while i < stop and text[i] in " \t":
        i += 1
    j = i
    while j < stop and text[j] in TAG_CHARS:
        j += 1
    return text[i:j]


def fence_language(tag: str) -> str | None:
    return FENCE_TAGS.get(tag.lower())


def fenced(lang: str, code: str) -> str:
    return f"```{lang}\n{code.rstrip()}\n```"


def fenced_blocks(text: str | None) -> list[tuple[str | None, str]]:
    """(language or None, body) of every fenced block, in order."""
    return [(fence_language(f.tag), f.body.strip("\n")) for f in fences(text)]


def last_fenced_block(text: str | None) -> tuple[str | None, str | None]:
    """The language and body of the last fenced code block in ``text``."""
    blocks = fenced_blocks(text)
    return blocks[-1] if blocks else (None, None)
