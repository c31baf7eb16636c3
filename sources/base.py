"""Raw samples, and how a source is opened (the kinds of source are in ``sources.registry``).

A source only *harvests*: it yields code (and sometimes an image) with where it came from. It
never renders and never filters; the pipeline does that.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from core.languages import SYNTHETIC_SOURCES


@dataclass
class RawSample:
    lang: str
    code: str
    source: str
    source_ref: str
    license: str
    image: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)


SYNTHETIC: dict[str, str] = SYNTHETIC_SOURCES  # synthetic.<name> → generator module, a view of the language registry


def open_source(spec: str, seed: int = 0, start: int = 0, options: dict[str, Any] | None = None) -> Iterator[RawSample]:
    """Raw samples of a source spec (``synthetic.charts``, ``hub:ID[:CONFIG][@SPLIT]``, ``dir:PATH``) from
    sample ``start`` on, its options checked (``sources.registry.resolve_source``)."""
    from .registry import resolve_source

    return resolve_source(spec, options).open(seed, start)


def sample_rng(seed: int, index: int, salt: str) -> random.Random:
    """An independent, reproducible random stream per sample: sample ``i`` never depends on ``i-1``."""
    return random.Random(f"{salt}:{seed}:{index}")


def kind_generator(name: str, lang: str, kinds: list[str], code_for: Callable[[random.Random, str], str],
                   license: str) -> Callable[..., Iterator[RawSample]]:
    """A procedural source that draws a kind per sample, then that kind's code: ``generate(seed, start)``."""
    def one(rng: random.Random, index: int) -> RawSample:
        kind = rng.choice(kinds)
        return RawSample(lang=lang, code=code_for(rng, kind), source=f"synthetic.{name}", source_ref=f"{name}/{kind}/{index}",
                         license=license, meta={"kind": kind})

    def generate(seed: int = 0, start: int = 0) -> Iterator[RawSample]:
        return indexed(one, name, seed, start)

    return generate


def indexed(generate_one: Callable[[random.Random, int], RawSample], salt: str, seed: int, start: int) -> Iterator[RawSample]:
    """Stream samples ``start, start+1, ...`` forever; each drawn from its own seeded stream."""
    index = start
    while True:
        yield generate_one(sample_rng(seed, index, salt), index)
        index += 1
