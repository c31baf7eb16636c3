"""Prompt templates: one per language and task, worded from the language registry and each renderer's canvas."""
from __future__ import annotations

import json

from core.fences import fenced
from core.languages import LANGS, LANGUAGES

CANVAS = {lang: LANGUAGES[lang].canvas_sentence() for lang in LANGS}
LANG_NAMES = {lang: LANGUAGES[lang].display for lang in LANGS}
GENERATE = {
    lang: (f"Write {name} code that renders exactly this image. {CANVAS[lang]} "
           f"Answer with the complete code in one ```{lang} fenced block.")
    for lang, name in LANG_NAMES.items()
}
OPTIMIZE_VISUAL = {
    lang: (f"The first image is the target. The second image is what the {name} code below renders. {CANVAS[lang]} "
           f"Correct the code so that it renders the target, and answer with the complete corrected code in one ```{lang} fenced block.")
    for lang, name in LANG_NAMES.items()
}
OPTIMIZE_ERROR = {
    lang: (f"The image is the target. The {name} code below was meant to render it, but it fails to render. {CANVAS[lang]} "
           f"Fix the code and answer with the complete corrected code in one ```{lang} fenced block.")
    for lang, name in LANG_NAMES.items()
}


def generate_prompt(lang: str, conventions: dict | None = None) -> str:
    """``conventions``: the row's render conventions (its meta's ``render``), when its dataset drew it otherwise
    than vinci's defaults; the canvas sentence then says how."""
    return _with_canvas(GENERATE[lang], lang, conventions)


def optimize_prompt(lang: str, flawed_code: str, flawed_renders: bool, conventions: dict | None = None) -> str:
    head = _with_canvas(OPTIMIZE_VISUAL[lang] if flawed_renders else OPTIMIZE_ERROR[lang], lang, conventions)
    return head + "\n\n" + fenced(lang, flawed_code)


def row_conventions(row: dict) -> dict | None:
    """The render conventions a built row was drawn under (``meta`` is JSON text in the shards)."""
    meta = row.get("meta")
    if isinstance(meta, str):
        meta = json.loads(meta or "{}")
    return (meta or {}).get("render") or None


def _with_canvas(template: str, lang: str, conventions: dict | None) -> str:
    if not conventions:
        return template
    return template.replace(CANVAS[lang], LANGUAGES[lang].canvas_sentence(conventions))
