"""Typed settings read from YAML (a build manifest, a training config): pydantic models that refuse
unknown keys, and their errors as one line that names the file, the key, "did you mean" and what came.

A model deriving from ``Strict`` is checked by ``validate``; ``describe`` turns each pydantic error into
one phrase (``lora.r: Input should be a valid integer``), finding the model at the error's location to
name the known fields beside an unknown one.
"""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import VinciError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A settings section: an unknown key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


def did_you_mean(name: str, known: typing.Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name``, else ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate(model: type[M], data: Any, where: str, error: type[VinciError], *, what: str = "",
             with_input: bool = False) -> M:
    """``model`` from ``data``, or ``error("<where>: <what><one phrase per problem>")``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe(e, model, with_input) for e in exc.errors())
        raise error(f"{where}: {what}{problems}") from None


def describe(error: dict, root: type[BaseModel], with_input: bool = False) -> str:
    """One pydantic error as one phrase; an unknown field gets the close known one and the list of known ones."""
    loc = error["loc"]
    where = ".".join(str(p) for p in loc) or "<root>"
    if error["type"] == "extra_forbidden":
        known = list(model_at(root, loc[:-1]).model_fields)
        return f"{where}: unknown field{did_you_mean(loc[-1], known)}; known fields here: {', '.join(known)}"
    message = error["msg"].removeprefix("Value error, ")
    got = f" (got {error.get('input')!r})" if with_input else ""
    if error["type"] == "value_error" and message.startswith((f"{where}.", f"{where} ")):
        return message + got
    return f"{where}: {message}{got}"


def model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model class that validates the mapping at ``loc`` (list indices and dict keys step into their items)."""
    model: Any = root
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel) and isinstance(part, str) and part in model.model_fields:
            model = model.model_fields[part].annotation
        while typing.get_origin(model) in (list, dict, Union, types.UnionType):
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[-1])
    return model if isinstance(model, type) and issubclass(model, BaseModel) else root
