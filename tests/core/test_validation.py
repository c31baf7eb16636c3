"""Typed settings: an unknown key names the close known one and the fields known where it stood, through
optional sections, lists and mappings alike."""
from __future__ import annotations

import pytest
from pydantic import Field

from core.errors import VinciError
from core.validation import Strict, validate


class Inner(Strict):
    size: int = Field(1, gt=0)
    colour: str = "red"


class Outer(Strict):
    name: str
    optional: Inner | None = None
    items: list[Inner] = Field(default_factory=list)
    named: dict[str, Inner] = Field(default_factory=dict)


class Bad(VinciError):
    pass


@pytest.mark.parametrize("data,message", [
    ({"nam": "x"}, "nam: unknown field (did you mean 'name'?); known fields here: name, optional, items, named"),
    ({"name": "x", "optional": {"colr": "b"}}, "optional.colr: unknown field (did you mean 'colour'?); known fields here: size, colour"),
    ({"name": "x", "items": [{}, {"sise": 2}]}, "items.1.sise: unknown field (did you mean 'size'?)"),
    ({"name": "x", "named": {"a": {"colours": 2}}}, "named.a.colours: unknown field (did you mean 'colour'?)"),
    ({"name": "x", "optional": {"size": 0}}, "optional.size: Input should be greater than 0"),
])
def test_one_line_naming_the_file_and_key(data, message):
    with pytest.raises(Bad) as err:
        validate(Outer, data, "f.yaml", Bad)
    assert str(err.value).startswith("f.yaml: ") and message in str(err.value) and "\n" not in str(err.value)


def test_the_input_is_shown_on_request():
    with pytest.raises(Bad, match=r"f.yaml: optional.size: Input should be a valid integer.* \(got 'big'\)"):
        validate(Outer, {"name": "x", "optional": {"size": "big"}}, "f.yaml", Bad, with_input=True)
