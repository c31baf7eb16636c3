"""Quality checks: ``CodeCheck`` before rendering (a 50 MB string is never sent to a renderer),
``ImageCheck`` on the render. Each is a ``core.steps.Filter`` answering keep or ``(False, reason, error)``
(the base class counts); the reason functions below them answer ``None`` (keep) or a short reason.
"""
from __future__ import annotations

import re

import numpy as np

from core.languages import LANGUAGES
from core.steps import Filter
from core.verdicts import KEEP, Drop, Verdict

from .execution import to_record

REASON_TOKEN = re.compile(r"[a-z0-9_]+")
MIN_STD = 3.0  # grey levels, over a 64x64 thumbnail
MAX_DOMINANT_SHARE = 0.995  # of the thumbnail in one band of 8 grey levels


def code_reason(lang: str, code: str, min_chars: int, max_chars: int, harvest_error: str | None = None) -> str | None:
    """``harvest_error`` is the harvester's verdict on the row: a reason token (``undecodable_code``, an
    unsafe image path, a row over its cap...) is kept as the drop reason, ahead of every check here; any
    other text is a message, counted as ``harvest_error`` (its words are never parsed)."""
    if harvest_error and REASON_TOKEN.fullmatch(harvest_error):
        return harvest_error
    if not code or not code.strip():
        return "empty_code"
    if harvest_error:
        return "harvest_error"
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
    return blank_reason(img, min_std, max_dominant_share)


def blank_reason(img, min_std: float = MIN_STD, max_dominant_share: float = MAX_DOMINANT_SHARE) -> str | None:
    """Is there nothing to see: a near-uniform picture, or one colour band over almost all of it? The
    build drops such a render, and the ViRL reward gives it nothing to compare."""
    small = np.asarray(img.convert("L").resize((64, 64)), dtype=np.float32)
    if small.std() < min_std:
        return "near_uniform"
    _, counts = np.unique((small // 8).astype(np.uint8), return_counts=True)
    if counts.max() / counts.sum() > max_dominant_share:
        return "mostly_empty"
    return None


class CodeCheck(Filter):
    """Is the code worth rendering: not empty, not too long or short, really the declared language,
    and any image that came with it decodes."""

    name = "quality_code"

    def __init__(self, quality) -> None:
        self.quality = quality

    @classmethod
    def from_manifest(cls, manifest):
        return cls(manifest.quality)

    def verdict(self, sample) -> Verdict:
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


class ImageCheck(Filter):
    """Is the render a picture worth training on (size, aspect, not blank or nearly empty)? The kept
    renders become the unit's generate rows."""

    name = "quality_image"

    def __init__(self, quality) -> None:
        self.quality = quality

    @classmethod
    def from_manifest(cls, manifest):
        return cls(manifest.quality)

    def verdict(self, rendered) -> Verdict:
        q = self.quality
        reason = image_reason(rendered.image, q.min_side, q.max_pixels, q.max_aspect, q.min_std, q.max_dominant_share)
        if reason is None:
            return KEEP
        return False, reason, f"{reason}: the render is {rendered.result.width}x{rendered.result.height}"

    def excluded(self, rendered):
        return rendered.sample

    def image(self, rendered) -> bytes | None:
        return rendered.result.png

    def judged(self, rendered, drop: Drop | None, stats) -> None:
        if drop is None:
            stats.observe("image_px", rendered.lang, rendered.result.width * rendered.result.height)

    def __call__(self, work) -> None:
        super().__call__(work)
        work.items = [to_record(r) for r in work.items]


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
