"""The multi-index search over distinct hash values: a node cuts its free bits into parts, sorts once
per subset of parts a near pair must agree on, compares small buckets and hands crowded ones down."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .bits import BitOrder, mask_of, popcount
from .cost_model import PLAN_SAMPLE, cheapest_cut, group_pair_xors
from .runs import bucket_slices, near_in_runs, run_chunks

BRUTE_CELLS = 1 << 22  # comparisons per block of an all-pairs comparison: bounded memory
REFINE_ABOVE = 32  # a bucket larger than this is split on further bits rather than compared pair by pair
BLOCK_ABOVE = 2048  # a group larger than this is compared a block of rows at a time, smaller ones all at once
CHUNK = 1 << 16  # sorted values walked at once: their temporaries stay in cache


def distinct_near_pairs(values: np.ndarray, radius: int) -> np.ndarray:
    """Index pairs of the sorted distinct ``values`` within ``radius`` bits, each found exactly once."""
    search = MultiIndexSearch(radius)
    search.node(values, np.zeros(1, dtype=np.int64), (), tuple(range(64)), ())
    if not search.found:
        return np.zeros((0, 2), dtype=np.int64)
    first = np.concatenate([a for a, _ in search.found])
    second = np.concatenate([b for _, b in search.found])
    return np.stack([positions(values, first), positions(values, second)], axis=1)


def positions(values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Where each query sits in the sorted ``values`` (binary search is fastest on sorted queries)."""
    order = np.argsort(queries)
    out = np.empty(len(queries), dtype=np.int64)
    out[order] = np.searchsorted(values, queries[order])
    return out


@dataclass
class MultiIndexSearch:
    """Multi-index search over distinct values that splits a crowded bucket on its remaining bits.

    A node holds groups of values that agree on its ``fixed`` bits (the bits its ancestors keyed
    on). It cuts its ``free`` bits into parts; a pair within ``radius`` differs on at most
    ``radius`` parts, so it agrees exactly on some ``parts - radius`` of them: one sort per such
    subset finds it. A pair is reported only under the *first* subset it agrees on (it must differ
    on every skipped part before that subset's last), which with the ancestors' checks makes each
    pair found once. Buckets of up to ``REFINE_ABOVE`` values are compared pair by pair; a crowded
    one becomes a group of a child node whose fixed bits take in the key.
    """

    radius: int
    found: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def node(self, members: np.ndarray, starts: np.ndarray, fixed: tuple[int, ...], free: tuple[int, ...],
             checks: tuple[int, ...]) -> None:
        varying = int(np.bitwise_or.reduce(members ^ members[0]))
        free = tuple(b for b in free if varying >> b & 1)  # bits every member shares cost no radius
        sizes = np.diff(np.append(starts, len(members))).astype(np.float64)
        pair_load = float((sizes * (sizes - 1) / 2).sum())
        sample = group_pair_xors(members, starts, int(min(PLAN_SAMPLE, pair_load)), np.random.default_rng(len(members)))
        parts = cheapest_cut(free, len(members), len(starts), pair_load, sample, self.radius)
        if parts is None:
            self.compare_groups(members, starts, checks)
            return
        for chosen in itertools.combinations(range(len(parts)), len(parts) - self.radius):
            key = sum((parts[i] for i in chosen), ())
            skipped = tuple(mask_of(parts[i]) for i in range(chosen[-1]) if i not in chosen)
            self.key_pass(members, fixed, key, tuple(b for b in free if b not in key), checks + skipped)

    def key_pass(self, members: np.ndarray, fixed: tuple[int, ...], key: tuple[int, ...], rest: tuple[int, ...],
                 checks: tuple[int, ...]) -> None:
        """Sort by (fixed bits, key bits); compare the small buckets, hand the crowded ones down.

        After the sort the values are walked a cache-sized slice at a time (a slice ends where a
        bucket does): every step after the sort then runs in cache, and no temporary is corpus-sized.
        """
        top = sorted(fixed, reverse=True) + sorted(key, reverse=True)
        order = BitOrder(tuple(top + sorted(set(range(64)) - set(top), reverse=True)))
        moved = order.forward(members)
        moved.sort()
        shift = np.uint64(64 - len(top))
        masks = [np.uint64(order.mask(m)) for m in checks]
        found, crowded, sizes = [], [], []
        for lo, hi in bucket_slices(moved, 64 - len(top), CHUNK):
            part = moved[lo:hi]
            labels = part >> shift
            if len(part) > REFINE_ABOVE and (labels[REFINE_ABOVE:] == labels[:-REFINE_ABOVE]).any():
                starts = np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))
                lengths = np.diff(np.append(starts, len(labels)))
                big = np.repeat(lengths > REFINE_ABOVE, lengths)
                crowded.append(part[big])
                sizes.append(lengths[lengths > REFINE_ABOVE])
                part, labels = part[~big], labels[~big]
            found.extend(near_in_runs(part, labels, self.radius, masks))
        if found:
            self.found.append((order.back(np.concatenate([f for f, _ in found])),
                               order.back(np.concatenate([g for _, g in found]))))
        del moved
        if crowded:
            big = np.concatenate(sizes)
            child_starts = np.concatenate(([0], np.cumsum(big)[:-1]))
            self.node(order.back(np.concatenate(crowded)), child_starts, tuple(fixed) + tuple(key), rest, checks)

    def compare_runs(self, values: np.ndarray, labels: np.ndarray, checks: tuple[int, ...]) -> None:
        """Pairs of values inside runs of equal sorted labels, kept when near and first found here."""
        masks = [np.uint64(m) for m in checks]
        found = []
        for lo, hi in run_chunks(labels, CHUNK):
            found.extend(near_in_runs(values[lo:hi], labels[lo:hi], self.radius, masks))
        if found:
            self.found.append((np.concatenate([f for f, _ in found]), np.concatenate([g for _, g in found])))

    def compare_groups(self, members: np.ndarray, starts: np.ndarray, checks: tuple[int, ...]) -> None:
        """Every pair of each group, where splitting further costs more; a group above ``BLOCK_ABOVE``
        values a block of rows at a time."""
        lengths = np.diff(np.append(starts, len(members)))
        small = np.repeat(lengths <= BLOCK_ABOVE, lengths)
        self.compare_runs(members[small], np.repeat(np.arange(len(starts)), lengths)[small], checks)
        for start, length in zip(starts[lengths > BLOCK_ABOVE], lengths[lengths > BLOCK_ABOVE]):
            group = members[start:start + length]
            block = max(1, BRUTE_CELLS // length)
            for lo in range(0, length, block):
                rows, rest = group[lo:lo + block], group[lo:]
                x = rows[:, None] ^ rest[None, :]
                near = (popcount(x) <= self.radius) & (np.arange(len(rows))[:, None] < np.arange(len(rest))[None, :])
                for mask in checks:
                    near &= (x & np.uint64(mask)) != 0
                i, j = np.nonzero(near)
                self.found.append((rows[i], rest[j]))
