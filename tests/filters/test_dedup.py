"""The pipeline's entry to deduplication: its names (the build, split, perturb and decontamination steps
call them) and code normalisation through each language's ``normalise`` hook."""
from __future__ import annotations

import pytest

import filters.dedup as dedup
from core.languages import LANGS, LANGUAGES, resolve_hook


def test_the_pipeline_names_are_all_there():
    for name in ("normalize_code", "phash_of", "phash_hex", "hex_to_u64", "popcount", "near_pairs", "brute_force_pairs",
                 "greedy_keep", "duplicate_of"):
        assert callable(getattr(dedup, name)), name


@pytest.mark.parametrize("lang", LANGS)
def test_normalize_code_is_the_languages_hook(lang):
    code = {"python": "x = 1  # one\n\ny=2\n", "html": "<p>\n  hi <!-- c --></p>", "svg": "<svg>\n <!-- c --> <g/></svg>",
            "latex": "\\draw (0,0); % c\n", "smiles": "OCC ethanol"}[lang]
    assert dedup.normalize_code(lang, code) == resolve_hook(LANGUAGES[lang].normalise)(code) != code


def test_an_unknown_language_has_its_whitespace_collapsed():
    assert dedup.normalize_code("cobol", "  MOVE  A\n TO B ") == "MOVE A TO B"
