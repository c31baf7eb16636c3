"""Which options a source accepts: the keyword parameters of its ``open`` (or ``generate``).

A source's signature is its one declaration of options, so nothing here has to be kept in step
with the adapters; an option no parameter takes is an error that names it and the known ones,
instead of being silently ignored.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from core.errors import SourceError
from core.languages import LANGS

from .base import PREFIXED, SYNTHETIC

POSITIONAL = {"rest", "seed", "start"}


def entry_point(spec: str):
    """The function ``open_source`` calls for ``spec``; ``SourceError`` for an unknown spec."""
    if spec in SYNTHETIC:
        return importlib.import_module(SYNTHETIC[spec]).generate
    prefix, sep, _ = spec.partition(":")
    if sep and prefix in PREFIXED:
        return importlib.import_module(PREFIXED[prefix]).stream
    raise SourceError(f"unknown source spec {spec!r}; known: {', '.join(known_specs())}")


def known_specs() -> list[str]:
    return [*SYNTHETIC, "hub:<dataset_id>", "dir:<path>"]


def known_options(spec: str) -> list[str]:
    """The keyword parameters of the entry point; one that takes ``**options`` lists what it passes
    on in its module's ``EXTRA_OPTIONS``."""
    fn = entry_point(spec)
    params = inspect.signature(fn).parameters.values()
    named = [p.name for p in params if p.name not in POSITIONAL and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_KEYWORD for p in params):
        named += [n for n in getattr(inspect.getmodule(fn), "EXTRA_OPTIONS", ()) if n not in named]
    return named


def check_options(spec: str, options: dict[str, Any]) -> None:
    """Raise ``SourceError`` naming every option ``spec`` does not take, a close match, and the known ones,
    or a ``lang`` that is not a language vinci renders (every row would be dropped later)."""
    known = known_options(spec)
    unknown = [name for name in options if name not in known]
    if not unknown:
        check_lang(spec, options.get("lang"))
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    takes = f"it takes: {', '.join(known)}" if known else "it takes no options"
    raise SourceError(f"source {spec}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; {takes}")


def check_lang(spec: str, lang: Any) -> None:
    if lang is not None and lang not in LANGS:
        close = difflib.get_close_matches(str(lang), LANGS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SourceError(f"source {spec}: option lang {lang!r} is not a language vinci renders{hint}; "
                          f"known: {', '.join(LANGS)}")
