"""The execution filter: render every sample in the sandbox, keep successes, name each failure."""
from __future__ import annotations

from typing import Sequence

from pipelines.records import Record, record_id
from pipelines.stats import Stats
from sources.base import RawSample

from .dedup import normalize_code, phash_of
from .quality import code_reason, image_reason


def execution_filter(samples: Sequence[RawSample], service, quality, stats: Stats) -> list[Record]:
    """Code checks → render through the pool → image checks → generate-task records."""
    candidates = []
    for sample in samples:
        stats.add("harvest", sample.lang, "out")
        stats.add("quality_code", sample.lang, "in")
        reason = code_reason(sample.lang, sample.code, quality.min_code_chars, quality.max_code_chars,
                             sample.meta.get("harvest_error"))
        if reason is None and sample.image is not None and not _decodes(sample.image):
            reason = "bad_source_image"
        if reason:
            stats.drop("quality_code", sample.lang, reason, sample, error=_code_error(reason, sample, quality))
            continue
        stats.add("quality_code", sample.lang, "out")
        candidates.append(sample)
    for sample in candidates:
        stats.add("execution", sample.lang, "in")
    results = service.render_many([(s.lang, s.code, s.meta.get("files")) for s in candidates])
    records = []
    for sample, result in zip(candidates, results):
        if not result.ok:
            stats.drop("execution", sample.lang, result.error_kind, sample, error=result.first_line())
            continue
        stats.add("execution", sample.lang, "out")
        stats.observe(f"render_ms|{sample.lang}", round(result.elapsed_s * 1000, 1))
        stats.add("quality_image", sample.lang, "in")
        image = decode(result.png)
        reason = image_reason(image, quality.min_side, quality.max_pixels, quality.max_aspect,
                              quality.min_std, quality.max_dominant_share)
        if reason:
            stats.drop("quality_image", sample.lang, reason, sample, image=result.png,
                       error=f"{reason}: the render is {result.width}x{result.height}")
            continue
        stats.add("quality_image", sample.lang, "out")
        stats.observe(f"image_px|{sample.lang}", result.width * result.height)
        meta = {k: v for k, v in sample.meta.items() if k != "files"}
        meta.update(width=result.width, height=result.height, render_ms=round(result.elapsed_s * 1000, 1))
        records.append(Record(id=record_id(sample.lang, normalize_code(sample.lang, sample.code)), task="generate",
                              lang=sample.lang, code=sample.code, image=result.png, source=sample.source,
                              source_ref=sample.source_ref, license=sample.license, phash=phash_of(image), meta=meta))
    return records


def _code_error(reason: str, sample: RawSample, quality) -> str:
    """The line an exclusion record gives for a code check: the harvest error, or the measured size."""
    if sample.meta.get("harvest_error"):
        return str(sample.meta["harvest_error"]).splitlines()[0][:300]
    if reason in ("code_too_long", "code_too_short"):
        return f"{len(sample.code):,} characters (quality: {quality.min_code_chars}..{quality.max_code_chars})"
    if reason == "bad_source_image":
        return "the image that came with the sample does not decode"
    return reason


def decode(png: bytes):
    """A render decoded once for the image checks and the perceptual hash."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def _decodes(data: bytes) -> bool:
    import io

    from PIL import Image

    try:
        Image.open(io.BytesIO(data)).verify()
        return True
    except Exception:  # noqa: BLE001 - PIL raises many types for garbage input
        return False
