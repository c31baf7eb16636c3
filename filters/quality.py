"""Quality checks: ``CodeCheck`` before rendering (a 50 MB string is never sent to a renderer),
``ImageCheck`` on the render. Each is a filter answering keep or ``(False, reason, error)``; the
reason functions below them answer ``None`` (keep) or a short reason.
"""
from __future__ import annotations

import re

import numpy as np

from core.languages import LANGUAGES
from core.verdicts import KEEP, Verdict

def code_reason(lang: str, code: str, min_chars: int, max_chars: int, harvest_error: str | None = None) -> str | None:
    if harvest_error and re.fullmatch(r"[a-z0-9_]+", harvest_error):
        return harvest_error  # the harvester's own reason (an unsafe image path, a row over its cap...) first
    if not code or not code.strip():
        return "empty_code"
    if harvest_error:
        return "undecodable_code" if "UTF-8" in harvest_error else "harvest_error"
    if len(code) > max_chars:
        return "code_too_long"
    if len(code.strip()) < min_chars and not (lang in LANGUAGES and LANGUAGES[lang].short_code_ok):
        return "code_too_short"
    return language_reason(lang, code)


def language_reason(lang: str, code: str) -> str | None:
    """Is the code really the declared language? The registry's cheap structural signature, no rendering."""
    if lang not in LANGUAGES:
        return "unknown_language"
    return None if LANGUAGES[lang].signature(code) else "wrong_language"


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


class CodeCheck:
    """Is the code worth rendering: not empty, not too long or short, really the declared language,
    and any image that came with it decodes."""

    name = "quality_code"

    def __init__(self, quality) -> None:
        self.quality = quality

    def __call__(self, sample) -> Verdict:
        q = self.quality
        harvest_error = sample.meta.get("harvest_error")
        reason = code_reason(sample.lang, sample.code, q.min_code_chars, q.max_code_chars, harvest_error)
        if reason is None and sample.image is not None and not decodes(sample.image):
            reason = "bad_source_image"
        if reason is None:
            return KEEP
        if harvest_error:
            detail = sample.meta.get("harvest_detail") or harvest_error
            return False, reason, str(detail).splitlines()[0][:300]
        if reason in ("code_too_long", "code_too_short"):
            return False, reason, f"{len(sample.code):,} characters (quality: {q.min_code_chars}..{q.max_code_chars})"
        if reason == "bad_source_image":
            return False, reason, "the image that came with the sample does not decode"
        return False, reason


class ImageCheck:
    """Is the render a picture worth training on (size, aspect, not blank or nearly empty)?"""

    name = "quality_image"

    def __init__(self, quality) -> None:
        self.quality = quality

    def __call__(self, rendered) -> Verdict:
        q = self.quality
        reason = image_reason(rendered.image, q.min_side, q.max_pixels, q.max_aspect, q.min_std, q.max_dominant_share)
        if reason is None:
            return KEEP
        return False, reason, f"{reason}: the render is {rendered.result.width}x{rendered.result.height}"


def decodes(data: bytes) -> bool:
    """A picture of a bounded size in a known raster format (``core.bounded.open_image``) whose structure checks out."""
    from core.bounded import open_image
    from core.errors import Rejected

    try:
        open_image(data).verify()
        return True
    except Rejected:
        return False
    except Exception:  # noqa: BLE001 - PIL raises many types for garbage input
        return False
