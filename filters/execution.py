"""The execution filter's render step: every sample through the sandboxed pool, each failure named.

The checks around it are ``quality.CodeCheck`` (before) and ``quality.ImageCheck`` (after); the
unit's driver (``pipelines.unit``) runs the three in order and counts them.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Sequence

from core.records import Record, record_id
from core.verdicts import KEEP, Verdict
from filters.render import RenderResult
from sources.base import RawSample

from .dedup import normalize_code, phash_of


@dataclass
class Rendered:
    """A sample and its render; ``image`` is decoded once, for the image checks and the hash."""

    sample: RawSample
    result: RenderResult
    image: Any = None

    @property
    def lang(self) -> str:
        return self.sample.lang


def render_samples(samples: Sequence[RawSample], service) -> list[Rendered]:
    results = service.render_many([(s.lang, s.code, s.meta.get("files")) for s in samples])
    return [Rendered(sample, result) for sample, result in zip(samples, results)]


def rendered_ok(rendered: Rendered) -> Verdict:
    """The render step's verdict: a failed render is dropped with its error kind and first line."""
    result = rendered.result
    if not result.ok:
        return False, result.error_kind, result.first_line()
    rendered.image = decode(result.png)
    return KEEP


def to_record(rendered: Rendered) -> Record:
    """The generate-task row of a kept render."""
    sample, result = rendered.sample, rendered.result
    meta = {k: v for k, v in sample.meta.items() if k != "files"}
    meta.update(width=result.width, height=result.height, render_ms=round(result.elapsed_s * 1000, 1))
    return Record(id=record_id(sample.lang, normalize_code(sample.lang, sample.code)), task="generate",
                  lang=sample.lang, code=sample.code, image=result.png, source=sample.source,
                  source_ref=sample.source_ref, license=sample.license, phash=phash_of(rendered.image), meta=meta)


def decode(png: bytes):
    """A render decoded once for the image checks and the perceptual hash."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    return image
