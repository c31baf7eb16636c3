"""Hold out ``virl`` and ``test`` from ``sft`` by near-duplicate cluster, stratified by language; optimize
rows follow their parent."""
from __future__ import annotations

import hashlib

import numpy as np

from core.exclusions import RowAt
from core.steps import Filter
from core.verdicts import KEEP, Drop, Verdict
from filters.dedup import near_pairs


def clusters(hashes: np.ndarray, radius: int) -> np.ndarray:
    """Cluster label per row: connected components of the within-radius graph (union-find)."""
    parent = np.arange(len(hashes))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in near_pairs(hashes, radius):
        a, b = find(int(i)), find(int(j))
        if a != b:
            parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(len(hashes))])


def quotas(total: int, langs: list[str]) -> dict[str, int]:
    """Split ``total`` over languages in proportion to their row counts (largest remainder)."""
    names, counts = np.unique(np.array(langs), return_counts=True)
    if total == 0 or len(names) == 0:
        return {}
    exact = counts / counts.sum() * total
    base = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - base), kind="stable")[: total - base.sum()]:
        base[k] += 1
    return dict(zip(names.tolist(), base.tolist()))


def assign_splits(ids: list[str], langs: list[str], hashes: np.ndarray, radius: int, virl: int, test: int, seed: int) -> list[str]:
    """Split name per row. Whole clusters move together, so no held-out image is near an ``sft`` one."""
    labels = clusters(hashes, radius)
    members: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        members.setdefault(int(label), []).append(row)
    order = sorted(members, key=lambda c: hashlib.sha256(f"{seed}:{ids[members[c][0]]}".encode()).hexdigest())
    want = {"virl": quotas(virl, langs), "test": quotas(test, langs)}
    out = ["sft"] * len(ids)
    for cluster in order:
        rows = members[cluster]
        lang = langs[rows[0]]
        for split in ("virl", "test"):
            if want[split].get(lang, 0) >= len(rows):
                want[split][lang] -= len(rows)
                for r in rows:
                    out[r] = split
                break
    return out


class PlaceOptimizeRows(Filter):
    """The ``optimize`` global filter: an optimize row lives where its clean parent lives, and ``virl``
    holds generate prompts only. ``split_of`` (row id → split) gains each row it keeps."""

    name = "optimize"

    def __init__(self, split_of: dict[str, str]) -> None:
        self.split_of = split_of

    def verdict(self, row: RowAt) -> Verdict:
        parent_split = self.split_of.get(row.parent)
        if parent_split is None:
            return Drop("parent_dropped", f"its clean row {row.parent} was dropped by dedup", detail={"parent": row.parent})
        if parent_split == "virl":
            return Drop("parent_in_virl", f"its clean row {row.parent} is a virl prompt (virl holds generate rows only)",
                        detail={"parent": row.parent})
        if row.id in self.split_of:
            return Drop("exact_duplicate", "the same target and flawed code as an earlier optimize row")
        self.split_of[row.id] = parent_split
        return KEEP
