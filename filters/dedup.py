"""Deduplication: exact on normalised code, perceptual on image hashes within a Hamming radius.

The parts live in modules named after what they do; this module is the one the pipeline calls:

* ``normalize_code``: a language's canonical form of code (its ``Language.normalise`` hook, in
  ``core.normalise``), so reformatted copies hash alike;
* ``filters.phash``: perceptual hashes of renders;
* ``filters.near_duplicates``: every pair of hashes within the radius, exactly (multi-index search);
* ``filters.survivors``: which rows are kept, greedily in a fixed row order, so the result does not
  depend on how the corpus was sharded.
"""
from __future__ import annotations

from core.languages import normalise

from .near_duplicates import brute_force_pairs, near_pairs, popcount
from .phash import hex_to_u64, phash_hex, phash_of
from .survivors import duplicate_of, greedy_keep

__all__ = ["brute_force_pairs", "duplicate_of", "greedy_keep", "hex_to_u64", "near_pairs", "normalize_code",
           "phash_hex", "phash_of", "popcount"]


def normalize_code(lang: str, code: str) -> str:
    """Drop comments and layout so that reformatted copies hash alike (a language's ``normalise`` hook;
    whitespace collapsed for a language vinci does not know)."""
    return normalise(lang, code)
