"""Prompt templates: one per language and task, worded from the language registry and each renderer's canvas."""
from __future__ import annotations

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


def generate_prompt(lang: str) -> str:
    return GENERATE[lang]


def optimize_prompt(lang: str, flawed_code: str, flawed_renders: bool) -> str:
    head = OPTIMIZE_VISUAL[lang] if flawed_renders else OPTIMIZE_ERROR[lang]
    return head + "\n\n" + fenced(lang, flawed_code)
