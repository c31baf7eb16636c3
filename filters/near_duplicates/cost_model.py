"""Where the search cuts the bits: a cost model measured on sampled pairs, since real hashes cluster."""
from __future__ import annotations

import itertools
import math

import numpy as np

from .bits import mask_of

SORT_COST = 3.0  # the search's cost model, in candidate comparisons: one sort pass per member,
BLOCK_COST = 0.5  # one comparison inside a block of a group compared all-pairs,
GROUP_COST = 300.0  # and the fixed cost of one such group
PLAN_SAMPLE = 1 << 16  # group pairs sampled to measure how often a key's bits agree
MAX_KEYS = 70  # most sorts one node may plan (C(8, 4) for radius 4)


def cheapest_cut(bits: tuple[int, ...], members: int, groups: int, pair_load: float, sample: np.ndarray,
          radius: int) -> list[tuple[int, ...]] | None:
    """The cheapest cut of ``bits`` into parts, or None when comparing every pair of each group is cheaper.

    The cost model counts candidate comparisons: a sort pass costs ``SORT_COST`` per member, and a
    key's candidates are the group pairs (``pair_load``) times the share of them that agree on the
    key, measured on ``sample`` (xors of random group pairs) since real hashes cluster, and never
    taken below the product of its parts' shares. Comparing whole groups as blocks costs
    ``BLOCK_COST`` per pair and ``GROUP_COST`` per group.
    """
    best, best_cost = None, pair_load * BLOCK_COST + groups * GROUP_COST
    for count in range(radius + 1, min(len(bits), radius + 5) + 1):
        if math.comb(count, count - radius) > MAX_KEYS:
            break
        parts = cut(bits, count)
        masks = [mask_of(part) for part in parts]
        share = [agree_share(sample, m, len(part)) for m, part in zip(masks, parts)]
        cost = 0.0
        for chosen in itertools.combinations(range(count), count - radius):
            measured = agree_share(sample, sum(masks[i] for i in chosen), sum(len(parts[i]) for i in chosen))
            cost += SORT_COST * members + pair_load * max(measured, math.prod(share[i] for i in chosen))
        if cost < best_cost:
            best, best_cost = parts, cost
    return best


def agree_share(sample: np.ndarray, mask: int, bits: int) -> float:
    """Share of sampled pairs equal on ``mask``; at least what uniform random bits would give."""
    if len(sample) == 0:
        return 2.0 ** -bits
    return max(np.count_nonzero((sample & np.uint64(mask)) == 0) / len(sample), 2.0 ** -bits)


def cut(bits: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    edges = np.linspace(0, len(bits), count + 1).round().astype(int)
    return [bits[edges[i]:edges[i + 1]] for i in range(count)]


def group_pair_xors(values: np.ndarray, starts: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Xors of ``size`` random pairs of members of one group (groups contiguous from ``starts``)."""
    lengths = np.diff(np.append(starts, len(values))).astype(np.float64)
    weight = lengths * (lengths - 1)
    if weight.sum() == 0:
        return np.zeros(0, dtype=np.uint64)
    which = rng.choice(len(starts), size=size, p=weight / weight.sum())
    span = lengths[which].astype(np.int64)
    first = (rng.random(size) * span).astype(np.int64)
    second = (first + 1 + (rng.random(size) * (span - 1)).astype(np.int64)) % span
    return values[starts[which] + first] ^ values[starts[which] + second]
