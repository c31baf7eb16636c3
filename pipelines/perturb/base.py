"""The perturbation registry and the helpers every language's perturbations share.

A perturbation is a small function ``(code, rng) -> flawed code | None`` that edits the code's
structure (an AST node, a DOM element, a TikZ path, a molecule's atom). ``None`` means "does not
apply to this sample" (no legend to remove): a clean skip, never an exception. Error
perturbations also declare the render error kind they must produce.
"""
from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from typing import Callable

from core.languages import language
from core.records import Record, record_id
from filters.dedup import normalize_code

Apply = Callable[[str, random.Random], "str | None"]


@dataclass(frozen=True)
class Perturbation:
    name: str
    lang: str
    apply: Apply
    error: str | None = None

    @property
    def kind(self) -> str:
        return self.name.split(".", 1)[1]


def registry(lang: str) -> dict[str, Perturbation]:
    """All perturbations of one language, by full name (``python.color``); the module is the language's entry."""
    module = importlib.import_module(language(lang).perturbations)
    return {p.name: p for p in module.PERTURBATIONS}


def optimize_id(parent: Record, flawed_code: str) -> str:
    """The id of the optimize row (parent, flawed code): its exclusion record carries it too."""
    return record_id(parent.lang, normalize_code(parent.lang, parent.code), flawed_code)


def optimize_row(parent: Record, flawed_code: str, flawed_image: bytes | None, perturbation: str,
                 distance: float | None, source_image: bytes | None = None, **meta) -> Record:
    """The optimize row of a verified perturbation (or refine draft) of ``parent``: the one place it is built."""
    return Record(id=optimize_id(parent, flawed_code), task="optimize", lang=parent.lang, code=parent.code,
                  image=parent.image, source=parent.source, source_ref=parent.source_ref, license=parent.license,
                  phash=parent.phash, flawed_code=flawed_code, flawed_image=flawed_image, perturbation=perturbation,
                  meta={"parent": parent.id, "distance": distance, "width": parent.meta.get("width"),
                        "height": parent.meta.get("height"), **meta},
                  source_image=source_image)


def perturbation(lang: str, kind: str, error: str | None = None) -> Callable[[Apply], Perturbation]:
    """Decorator: turn a function into a named perturbation of ``lang``."""
    def wrap(fn: Apply) -> Perturbation:
        return Perturbation(f"{lang}.{kind}", lang, fn, error)

    return wrap


def far_color(rng: random.Random, avoid: str | None = None) -> str:
    """A saturated colour unlike ``avoid`` (hue rotated by at least 90 degrees)."""
    import colorsys

    hue = rng.random()
    if avoid and avoid.startswith("#") and len(avoid) == 7:
        r, g, b = (int(avoid[i:i + 2], 16) / 255 for i in (1, 3, 5))
        hue = (colorsys.rgb_to_hsv(r, g, b)[0] + rng.uniform(0.25, 0.75)) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.45, 0.85))
    return "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))


def scale_number(value: float, rng: random.Random, lo: float = 1.4, hi: float = 2.5) -> float:
    factor = rng.uniform(lo, hi)
    return value * factor if rng.random() < 0.5 else value / factor
