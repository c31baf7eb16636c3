"""``synthetic.NAME``: the procedural generator of a language, named by its entry in ``core.languages``.

A generator module takes the options of its ``Options`` model (none when it has none) as keyword
arguments of ``generate(seed, start, ...)``.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Iterator

from core.languages import SYNTHETIC_SOURCES

from ..base import RawSample
from ..registry import NoOptions, SourceKind, SourceOptions, source_kind


@source_kind
class Synthetic(SourceKind):
    prefix = "synthetic"
    usage = "synthetic.<generator>"

    @classmethod
    def rest_of(cls, spec: str) -> str | None:
        return spec.removeprefix("synthetic.") if spec in SYNTHETIC_SOURCES else None

    @classmethod
    def usages(cls) -> list[str]:
        return list(SYNTHETIC_SOURCES)

    @classmethod
    def options_model(cls, rest: str) -> type[SourceOptions]:
        return getattr(generator(rest), "Options", NoOptions)

    def open(self, seed: int = 0, start: int = 0) -> Iterator[RawSample]:
        return generator(self.rest).generate(seed=seed, start=start, **self.options.model_dump())

    def details(self) -> str:
        return f"{self.spec}: procedural"


def generator(name: str) -> ModuleType:
    return importlib.import_module(SYNTHETIC_SOURCES[f"synthetic.{name}"])
