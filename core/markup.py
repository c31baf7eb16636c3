"""Strings from samples and sources, written into Markdown and YAML as text, never as markup.

A dataset card is Markdown with a YAML header, published by ``vinci push`` and rendered by the Hub.
Licence strings (``see some/path/LICENSE``), source specs, language and reason names, titles: any of
them may come from a harvest, so each is written through one of these helpers, which make it inert
wherever it lands (a paragraph, a table cell, a heading, a fenced block) while the YAML header keeps
the exact value:

* ``md_text``: literal text; every ASCII punctuation character is backslash-escaped (CommonMark shows
  it as itself) and ``< > &`` become entities, so no heading, link, image, emphasis or HTML starts.
* ``md_code``: an inline code span whose backtick fence is longer than any run inside it; inside a
  code span nothing is markup (not even a bare URL).
* ``md_fence``: a fenced block whose fence is longer than any backtick run in its body.
* ``front_matter``: the YAML header, dumped safely and checked to load back to the same value.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

PUNCTUATION = re.compile(r"""([!"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])""")
LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
BACKTICKS = re.compile(r"`+")
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _one_line(value: Any) -> str:
    return LINE_BREAKS.sub(" ", str(value))


def md_text(value: Any) -> str:
    """``value`` as literal Markdown text on one line (line breaks and control characters become spaces)."""
    escaped = PUNCTUATION.sub(r"\\\1", _one_line(value))
    return "".join(ENTITIES.get(ch, ch) for ch in escaped)


SLUG = re.compile(r"[a-z0-9_]+(?:: [a-z0-9_]+)?")


def md_name(value: Any) -> str:
    """A stage or reason name (``execution: syntax``) as it is, when it is one of vinci's own slugs
    (lower-case words joined by ``_``: nothing in CommonMark starts there); anything else as ``md_text``."""
    text = str(value)
    return text if SLUG.fullmatch(text) else md_text(text)


def md_code(value: Any, table: bool = False) -> str:
    """``value`` as an inline code span on one line; ``table``: it sits in a table cell, where GFM splits
    rows on ``|`` even inside code, and renderers disagree on ``\\|`` there, so a value holding ``|``
    is written as escaped text instead."""
    text = _one_line(value)
    if table and "|" in text:
        return md_text(value)
    fence = "`" * (max((len(run) for run in BACKTICKS.findall(text)), default=0) + 1)
    if not text.strip(" ") or text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    return f"{fence}{text}{fence}"


def md_fence(body: str, info: str = "") -> str:
    """``body`` as a fenced code block that no line of it can close."""
    fence = "`" * max(3, max((len(run) for run in BACKTICKS.findall(body)), default=0) + 1)
    return f"{fence}{info}\n{body.rstrip(chr(10))}\n{fence}"


def front_matter(header: dict) -> str:
    """``---``-delimited YAML for a card's header: every value loads back exactly as given, and no line of
    the dump can end the header early."""
    dump = yaml.safe_dump(header, sort_keys=False, allow_unicode=True)
    if yaml.safe_load(dump) != header or any(line.rstrip() in ("---", "...") for line in dump.splitlines()):
        dump = yaml.safe_dump(header, sort_keys=False, allow_unicode=False, default_style='"')
    return "---\n" + dump + "---\n"
