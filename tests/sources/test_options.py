"""Source options come from each adapter's signature; an unknown one is an error that names it."""
from __future__ import annotations

import pytest

from core.errors import SourceError
from sources.options import check_options, known_options


def test_dir_takes_no_options_and_says_so(tmp_path):
    with pytest.raises(SourceError, match=r"dir:.*unknown option 'langs'; it takes no options"):
        check_options(f"dir:{tmp_path}", {"langs": ["svg"]})


def test_hub_options_are_its_open_parameters_with_a_close_match():
    assert {"code_column", "lang", "split", "data_files"} <= set(known_options("hub:org/x"))
    with pytest.raises(SourceError, match=r"'code_colum' \(did you mean 'code_column'\?\); it takes: .*code_column"):
        check_options("hub:org/x", {"code_colum": "c", "lang": "svg"})
    check_options("hub:org/x", {"code_column": "c", "lang": "svg"})


def test_synthetic_sources_take_none_and_unknown_specs_list_the_known():
    with pytest.raises(SourceError, match="synthetic.svg: unknown option 'foo'"):
        check_options("synthetic.svg", {"foo": "bar"})
    with pytest.raises(SourceError, match="known: synthetic.charts"):
        check_options("synthetic.nope", {})
