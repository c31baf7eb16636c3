"""Quality checks: each answers ``None`` (keep) or a short drop reason.

Code checks run before rendering (a 50 MB string is never sent to a renderer); image checks run
on the render.
"""
from __future__ import annotations

import ast
import re

import numpy as np

SMILES_TOKENS = re.compile(r"(?:\[[^\]]+\]|Br|Cl|[BCNOPSFI]|[bcnops]|\*|%\d\d|\d|[=#$:/\\.()+\-@~])+")
LANG_SIGNS = {
    "html": re.compile(r"<\s*(html|body|div|p|h[1-6]|span|table|section|main|!doctype)\b", re.I),
    "svg": re.compile(r"<\s*svg\b", re.I),
    "latex": re.compile(r"\\(begin\{tikzpicture\}|tikz\b|draw\b|begin\{axis\}|documentclass|node\b|path\b|fill\b|begin\{document\})"),
}


def code_reason(lang: str, code: str, min_chars: int, max_chars: int, harvest_error: str | None = None) -> str | None:
    if not code or not code.strip():
        return "empty_code"
    if harvest_error:
        if "UTF-8" in harvest_error:
            return "undecodable_code"
        return harvest_error if re.fullmatch(r"[a-z0-9_]+", harvest_error) else "harvest_error"
    if len(code) > max_chars:
        return "code_too_long"
    if len(code.strip()) < min_chars and lang != "smiles":
        return "code_too_short"
    return language_reason(lang, code)


def language_reason(lang: str, code: str) -> str | None:
    """Is the code really the declared language? Cheap structural checks, no rendering."""
    if lang == "python":
        try:
            ast.parse(code)
        except (SyntaxError, ValueError):
            return None if _looks_like_python(code) else "wrong_language"
        return None
    if lang == "smiles":
        return None if SMILES_TOKENS.fullmatch(code.split()[0]) else "wrong_language"
    sign = LANG_SIGNS.get(lang)
    if sign is None:
        return "unknown_language"
    if not sign.search(code):
        return "wrong_language"
    if lang == "html" and LANG_SIGNS["svg"].match(code.lstrip()):
        return "wrong_language"
    return None


def _looks_like_python(code: str) -> bool:
    """Broken Python is still Python (the execution filter names the error); a page is not."""
    return bool(re.search(r"^\s*(import |from \w+ import|def |plt\.)", code, re.M))


def image_reason(img, min_side: int, max_pixels: int, max_aspect: float, min_std: float,
                 max_dominant_share: float) -> str | None:
    """``img`` is a decoded PIL image (the caller decodes a render once for every check)."""
    w, h = img.size
    if min(w, h) < min_side:
        return "image_too_small"
    if w * h > max_pixels:
        return "image_too_large"
    if max(w, h) / min(w, h) > max_aspect:
        return "extreme_aspect"
    small = np.asarray(img.convert("L").resize((64, 64)), dtype=np.float32)
    if small.std() < min_std:
        return "near_uniform"
    values, counts = np.unique((small // 8).astype(np.uint8), return_counts=True)
    if counts.max() / counts.sum() > max_dominant_share:
        return "mostly_empty"
    return None
