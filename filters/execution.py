"""The execution filter's render step: every sample through the sandboxed pool, each failure named.

``Execution`` is the unit's ``execution`` step: it renders every sample, then, as a filter, keeps the
renders that succeeded. The checks around it are ``quality.CodeCheck`` (before) and
``quality.ImageCheck`` (after); the filter base class (``core.steps.Filter``) counts all three.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from core.records import Record, record_id
from core.steps import Filter, StepResources
from core.verdicts import KEEP, Drop, Verdict
from filters.render import RenderResult
from sources.base import RawSample

from .dedup import normalize_code, phash_of

MISSING_MODULE = re.compile(r"No module named '([\w.]+)'|File `([\w.-]+)' not found")  # a Python module, a TeX package
MISSING_KEY = "missing_module:"


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
    results = service.render_many([render_job(s.lang, s.code, s.meta) for s in samples])
    return [Rendered(sample, result) for sample, result in zip(samples, results)]


def render_job(lang: str, code: str, meta: dict) -> tuple:
    """What the render service takes for one sample: its files beside it and its dataset's render
    conventions travel with it (a perturbation of a row renders as the row did)."""
    return lang, code, meta.get("files"), meta.get("render")


def missing_module(result: RenderResult) -> str | None:
    """The top-level module a ``missing_module`` failure names."""
    if result.ok or result.error_kind != "missing_module":
        return None
    found = MISSING_MODULE.search(result.message)
    return (found.group(1) or found.group(2)).split(".")[0] if found else "?"


def count_missing_modules(rendered: Sequence[Rendered], stats) -> None:
    """Count, per language, each module the render environment lacked (``stats.json``: ``execution|LANG|
    missing_module:NAME``; the card lists them), so a user sees what to add."""
    for r in rendered:
        name = missing_module(r.result)
        if name:
            stats.add("execution", r.lang, MISSING_KEY + name)


def missing_modules(stats) -> Counter:
    """Module → samples that failed to import it, over every language."""
    out: Counter = Counter()
    for count, n in stats.counts.items():
        if count.stage == "execution" and count.key.startswith(MISSING_KEY):
            out[count.key[len(MISSING_KEY):]] += n
    return out


def card_section(stats) -> str:
    missing = missing_modules(stats)
    if not missing:
        return ""
    rows = "\n".join(f"| `{name}` | {n:,} |" for name, n in missing.most_common())
    return ("## Modules missing from the render environment\n\nSamples dropped as `missing_module`, by the module "
            "they import (add it to the render environment to keep them):\n\n| module | samples |\n|---|---|\n"
            + rows + "\n\n")


class Execution(Filter):
    """Render each sample in the sandbox; keep the renders that succeeded (decoded once, here)."""

    name = "execution"
    resources = StepResources(renders=True)

    def __call__(self, work) -> None:
        rendered = render_samples(work.items, self.service)
        for r in rendered:
            work.stats.spend(self.name, r.lang, r.result.cpu_s)
        count_missing_modules(rendered, work.stats)
        work.items = self.keep(rendered, work.stats)

    def verdict(self, rendered: Rendered) -> Verdict:
        return rendered_ok(rendered)

    def excluded(self, rendered: Rendered) -> RawSample:
        return rendered.sample

    def judged(self, rendered: Rendered, drop: Drop | None, stats) -> None:
        if drop is None:
            stats.observe("render_ms", rendered.lang, round(rendered.result.elapsed_s * 1000, 1))


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
