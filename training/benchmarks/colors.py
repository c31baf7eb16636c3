"""Colour similarity and best pairings, as ChartMimic's colour score defines them.

Two traced colours are alike by ``1 - CIEDE2000 / 100`` (floored at 0) when both are hex colours,
equal or not when both are colormap names, and not at all otherwise. A score is the *best* total
similarity over one-to-one pairings of two lists: the official evaluator tries every ordered
selection of the longer list (n!/(n-k)! of them: an hour for 10 colours a side); this is the
assignment problem, solved here exactly in O(n^3) by ``scipy.optimize.linear_sum_assignment``.
``best_total_brute_force`` keeps the official way for tests and the speed benchmark.
"""
from __future__ import annotations

from itertools import permutations

import numpy as np

FILTER_THRESHOLD = 0.7
FILTER_ABOVE = 10


def hex_rgb(color: str) -> tuple[int, int, int]:
    digits = color.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def lab(colors: list[str]) -> np.ndarray:
    """CIE Lab (D65) of hex colours, shape (n, 3)."""
    from skimage.color import rgb2lab

    rgb = np.array([hex_rgb(c) for c in colors], dtype=np.float64).reshape(-1, 1, 3) / 255.0
    return rgb2lab(rgb).reshape(-1, 3)


def similarity_matrix(a: list[str], b: list[str]) -> np.ndarray:
    """``m[i, j]``: similarity of ``a[i]`` and ``b[j]``."""
    from skimage.color import deltaE_ciede2000

    m = np.zeros((len(a), len(b)))
    ha = [i for i, c in enumerate(a) if c.startswith("#")]
    hb = [j for j, c in enumerate(b) if c.startswith("#")]
    if ha and hb:
        la, lb = lab([a[i] for i in ha]), lab([b[j] for j in hb])
        delta = deltaE_ciede2000(la[:, None, :], lb[None, :, :])
        m[np.ix_(ha, hb)] = np.maximum(0.0, 1.0 - delta / 100.0)
    for i, ca in enumerate(a):
        if not ca.startswith("#"):
            for j, cb in enumerate(b):
                if not cb.startswith("#") and ca == cb:
                    m[i, j] = 1.0
    return m


def similarity(a: str, b: str) -> float:
    return float(similarity_matrix([a], [b])[0, 0])


def best_total(a: list[str], b: list[str]) -> float:
    """Largest sum of similarities over one-to-one pairings (every element of the shorter list paired)."""
    if not a or not b:
        return 0.0
    from scipy.optimize import linear_sum_assignment

    m = similarity_matrix(a, b)
    rows, cols = linear_sum_assignment(m, maximize=True)
    return float(m[rows, cols].sum())


def best_total_brute_force(a: list[str], b: list[str]) -> float:
    """The official search: every ordered choice of the longer list against the shorter one."""
    if not a or not b:
        return 0.0
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    m = similarity_matrix(shorter, longer)
    best = 0.0
    for perm in permutations(range(len(longer)), len(shorter)):
        best = max(best, float(sum(m[i, j] for i, j in enumerate(perm))))
    return best


def filter_similar(colors: list[str]) -> list[str]:
    """Past ten colours, the official trace keeps a colour only if it is at most 0.7 alike to every
    colour kept before it. Its order is a Python set's (it varies from run to run); ours is sorted."""
    if len(colors) <= FILTER_ABOVE:
        return colors
    values = [c.split("--", 1)[1] for c in colors]
    m = similarity_matrix(values, values)
    kept: list[int] = []
    for i in range(len(colors)):
        if all(m[i, k] <= FILTER_THRESHOLD for k in kept):
            kept.append(i)
    return [colors[i] for i in kept]


def grouped(colors: list[str]) -> dict[str, list[str]]:
    """``group--colour`` strings by the drawing function that made them."""
    groups: dict[str, list[str]] = {}
    for item in colors:
        group, _, color = item.partition("--")
        groups.setdefault(group, []).append(color)
    return groups


def color_total(generated: list[str], golden: list[str], solver=best_total) -> float:
    """Sum over drawing functions of the best pairing of their colours."""
    gen, gold = grouped(generated), grouped(golden)
    return sum(solver(gen.get(k, []), gold.get(k, [])) for k in sorted(set(gen) | set(gold)))
