"""The one registry of source kinds, and the one function that resolves a source spec.

A kind is a class in a module of ``sources/kinds/`` that registers itself with ``@source_kind``
(as Hub layouts register with ``@layout``): the spec shape it answers (``hub:ID``, ``dir:PATH``,
``synthetic.NAME``), its options as a typed model, how it opens and how ``vinci build --plan``
describes it. The harvester, the manifest's validator and ``--plan`` all go through
``resolve_source``, so an unknown spec or option is the same error everywhere, before any work.
Adding a source is one file in ``sources/kinds/``.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Any, ClassVar, Iterator

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import SourceError
from core.languages import LANGS

from .base import RawSample


class SourceOptions(BaseModel):
    """A kind's options, checked on resolution: an unknown name or a wrong type is one line naming it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(SourceOptions):
    pass


class SourceKind:
    """One kind of source. ``prefix`` answers specs ``PREFIX:REST``; a kind that answers other shapes
    overrides ``rest_of`` and ``usages``. Instances hold one resolved spec."""

    prefix: ClassVar[str]
    usage: ClassVar[str]  # how its specs look, in the list of known specs
    Options: ClassVar[type[SourceOptions]] = NoOptions

    def __init__(self, spec: str, rest: str, options: SourceOptions):
        self.spec, self.rest, self.options = spec, rest, options

    @classmethod
    def rest_of(cls, spec: str) -> str | None:
        """What follows the prefix, or ``None`` when ``spec`` is not of this kind."""
        prefix, sep, rest = spec.partition(":")
        return rest if sep and prefix == cls.prefix else None

    @classmethod
    def usages(cls) -> list[str]:
        return [cls.usage]

    @classmethod
    def options_model(cls, rest: str) -> type[SourceOptions]:
        return cls.Options

    def open(self, seed: int = 0, start: int = 0) -> Iterator[RawSample]:
        raise NotImplementedError

    def details(self) -> str:
        """One line for ``--plan``: what will be read."""
        return self.spec

    def problem(self) -> str | None:
        """What stops a build before it starts (a folder that is not there), else ``None``."""
        return None


KINDS: dict[str, type[SourceKind]] = {}


def source_kind(cls: type[SourceKind]) -> type[SourceKind]:
    KINDS[cls.prefix] = cls
    return cls


def _load_kinds() -> dict[str, type[SourceKind]]:
    """Import every module of ``sources.kinds`` once: each registers its kinds."""
    from . import kinds

    for info in pkgutil.iter_modules(kinds.__path__):
        importlib.import_module(f"{kinds.__name__}.{info.name}")
    return KINDS


def known_specs() -> list[str]:
    """Every spec shape, the named ones (``synthetic.charts``) before the prefixed ones (``dir:<path>``)."""
    usages = [u for kind in sorted(_load_kinds().values(), key=lambda k: k.prefix) for u in kind.usages()]
    return sorted(usages, key=lambda u: ":" in u)


def resolve_source(spec: str, options: dict[str, Any] | None = None) -> SourceKind:
    """The one resolution of a source spec and its options: the kind that opens it, describes it and names
    what would stop a build. ``SourceError`` names an unknown spec (with a
    close known one), every unknown option (with a close match and the known ones), a value of the wrong
    type, or a ``lang`` vinci does not render."""
    options = dict(options or {})
    for cls in _load_kinds().values():
        rest = cls.rest_of(spec)
        if rest is not None:
            model = cls.options_model(rest)
            return cls(spec, rest, check_options_of(spec, model, options))
    known = known_specs()
    close = difflib.get_close_matches(spec, [k for k in known if ":" not in k], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise SourceError(f"unknown source spec {spec!r}{hint}; known: {', '.join(known)}")


def check_options_of(spec: str, model: type[SourceOptions], options: dict[str, Any]) -> SourceOptions:
    known = list(model.model_fields)
    unknown = [name for name in options if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        takes = f"it takes: {', '.join(known)}" if known else "it takes no options"
        raise SourceError(f"source {spec}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; {takes}")
    check_lang(spec, options.get("lang"))
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        given = repr(first.get("input"))
        given = given if len(given) <= 80 else given[:77] + "..."
        raise SourceError(f"source {spec}: option {where}: {first['msg']} (got {given})") from None


def check_lang(spec: str, lang: Any) -> None:
    if lang is not None and lang not in LANGS:
        close = difflib.get_close_matches(str(lang), LANGS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SourceError(f"source {spec}: option lang {lang!r} is not a language vinci renders{hint}; "
                          f"known: {', '.join(LANGS)}")


def open_source(spec: str, seed: int = 0, start: int = 0, options: dict[str, Any] | None = None) -> Iterator[RawSample]:
    """Raw samples of ``spec`` from sample ``start`` on."""
    return resolve_source(spec, options).open(seed, start)
