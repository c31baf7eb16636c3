"""Prompt templates: one per language and task, in one place."""
from __future__ import annotations

LANG_NAMES = {
    "python": "Python (matplotlib)",
    "html": "HTML with inline CSS",
    "svg": "SVG",
    "latex": "LaTeX (TikZ/pgfplots)",
    "smiles": "SMILES",
}
CANVAS = {
    "python": "It is rendered with matplotlib's Agg backend at 100 DPI; the figure size sets the picture size.",
    "html": "It is rendered in a 1024 px wide browser viewport; only inline CSS and data: resources load.",
    "svg": "It is rendered with its own aspect ratio, the longer side scaled to 512 px, on white.",
    "latex": "It is compiled with pdflatex as a standalone picture (TikZ and pgfplots are available) at 200 DPI.",
    "smiles": "It is drawn by RDKit as a 2D depiction on a 512×512 canvas.",
}
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


def fenced(lang: str, code: str) -> str:
    return f"```{lang}\n{code.rstrip()}\n```"


def generate_prompt(lang: str) -> str:
    return GENERATE[lang]


def optimize_prompt(lang: str, flawed_code: str, flawed_renders: bool) -> str:
    head = OPTIMIZE_VISUAL[lang] if flawed_renders else OPTIMIZE_ERROR[lang]
    return head + "\n\n" + fenced(lang, flawed_code)
