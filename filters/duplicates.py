"""The ``dedup`` filter: exact, then perceptual duplicates among a build's generate rows, per language.

A global filter over ``RowAt`` rows (id, language, pHash): the first row of the same normalised code
is kept, and among the rest, within one language, rows whose images are within ``phash_radius`` bits
are thinned greedily (``dedup.greedy_keep``), each drop naming the row it duplicates.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from core.exclusions import RowAt
from core.steps import Filter
from core.verdicts import KEEP, Drop, Verdict

from .dedup import duplicate_of, greedy_keep, near_pairs


class Dedup(Filter):
    name = "dedup"

    def __init__(self, radius: int) -> None:
        self.radius = radius

    @classmethod
    def from_manifest(cls, manifest) -> "Dedup":
        return cls(manifest.dedup.phash_radius)

    def verdicts(self, rows: Sequence[RowAt]) -> list[Verdict]:
        out: list[Verdict] = [KEEP] * len(rows)
        seen: set[str] = set()
        for i, row in enumerate(rows):
            if row.id in seen:
                out[i] = Drop("exact_duplicate", "the same normalized code as an earlier row")
            seen.add(row.id)
        langs = np.array([r.lang for r in rows])
        hashes = np.array([r.phash for r in rows], dtype=np.uint64)
        unique = np.array([v is KEEP for v in out], dtype=bool)
        for lang in sorted(set(langs.tolist())):
            members = np.flatnonzero((langs == lang) & unique)
            pairs = near_pairs(hashes[members], self.radius)
            mask = greedy_keep(len(members), pairs)
            near = duplicate_of(len(members), pairs, mask)
            for k in np.flatnonzero(~mask):
                twin = rows[members[near[int(k)]]].id
                out[members[k]] = Drop("near_duplicate", f"image within {self.radius} pHash bits of row {twin}",
                                       detail={"kept": twin})
        return out
