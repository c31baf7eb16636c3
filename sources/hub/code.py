"""Code inside text: fenced blocks, bare replies that *are* code, and chat turns.

Datasets publish code three ways: a column that holds only code, a reply with the code in a
Markdown fence (often after some prose), and a reply that is the code itself without a fence
(Web2Code's ``<html>...</html>`` answers). All three end here, so every layout agrees on what
counts as code.
"""
from __future__ import annotations

import json
from typing import Any

from core.fences import fence_language, fences
from core.languages import LANGUAGES

CHAT_ROLE_KEYS = ("role", "from")
CHAT_TEXT_KEYS = ("content", "value", "text")
ASSISTANT_ROLES = ("assistant", "gpt", "model")


def bare_language(text: str) -> str | None:
    """The language of a reply that is code from its first line on, else ``None`` (prose)."""
    for lang in sorted(LANGUAGES.values(), key=lambda entry: entry.bare_anywhere):  # a sign at the start wins
        sign = lang.bare_reply
        if sign is not None and (sign.search(text[:400]) if lang.bare_anywhere else sign.match(text)):
            return lang.name
    return None


def reply_code(text: str | None, lang_hint: str | None = None) -> tuple[str | None, str | None]:
    """(lang, code) of a reply: its last fenced block, or the whole reply when it is bare code.

    The fence's own tag wins; an untagged fence takes ``lang_hint`` or what the body looks like.
    """
    if not isinstance(text, str) or not text:
        return None, None
    blocks = fences(text)
    if blocks:
        body = blocks[-1].body.strip("\n")
        return fence_language(blocks[-1].tag) or lang_hint or bare_language(body), body
    lang = bare_language(text)
    if lang is None:
        return None, None
    return lang_hint or lang, text.strip()


def chat_turns(turns: Any) -> list[tuple[str | None, str]]:
    """(role, text) of each turn of a chat cell (a list of dicts, or that list as JSON text)."""
    if isinstance(turns, str):
        try:
            turns = json.loads(turns)
        except (json.JSONDecodeError, RecursionError):  # "[" * 100_000 nests past the decoder's stack
            return [("assistant", turns)]
    if not isinstance(turns, list):
        return []
    out = []
    for turn in turns:
        if not isinstance(turn, dict):
            continue
        role = next((turn[k] for k in CHAT_ROLE_KEYS if k in turn), None)
        text = next((turn[k] for k in CHAT_TEXT_KEYS if k in turn), None)
        if isinstance(text, list):
            text = "\n".join(part["text"] for part in text if isinstance(part, dict) and isinstance(part.get("text"), str))
        if isinstance(text, str):
            out.append((role, text))
    return out


def chat_code(turns: Any, lang_hint: str | None = None) -> tuple[str | None, str | None]:
    """(lang, code) of the last assistant reply that holds code, fenced or bare."""
    for role, text in reversed(chat_turns(turns)):
        if role in ASSISTANT_ROLES:
            lang, code = reply_code(text, lang_hint)
            if code is not None:
                return lang, code
    return None, None
