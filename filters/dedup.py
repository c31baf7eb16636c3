"""Deduplication: exact on normalised code, perceptual on image hashes within a Hamming radius.

Near-duplicate search is exact multi-index hashing that adapts to clustered hashes (real pHashes
share white backgrounds and layouts, so fixed chunk buckets grow with the corpus): equal hashes are
searched once; the distinct values are cut into parts, and since a pair within ``radius`` bits
agrees on at least ``parts - radius`` of them, one sort per such subset of parts brings every
pair together. The number of parts is chosen per level by a cost model measured on sampled pairs,
a crowded bucket is split again on the bits not yet keyed on, and a pair is reported only under
the first subset it agrees on, so it is found exactly once, with no global de-duplication. It
finds exactly the pairs brute force finds. Survivors are chosen greedily in a fixed row order, so
the result does not depend on how the corpus was sharded.
"""
from __future__ import annotations

import io
import itertools
import math
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np

BRUTE_CELLS = 1 << 22  # comparisons per block of the reference search: bounded memory
SORT_COST = 3.0  # the search's cost model, in candidate comparisons: one sort pass per member,
BLOCK_COST = 0.5  # one comparison inside a block of a group compared all-pairs,
GROUP_COST = 300.0  # and the fixed cost of one such group
PLAN_SAMPLE = 1 << 16  # group pairs sampled to measure how often a key's bits agree
MAX_KEYS = 70  # most sorts one node may plan (C(8, 4) for radius 4)
REFINE_ABOVE = 32  # a bucket larger than this is split on further bits rather than compared pair by pair
BLOCK_ABOVE = 2048  # a group larger than this is compared a block of rows at a time, smaller ones all at once
CHUNK = 1 << 16  # sorted values walked at once: their temporaries stay in cache
MOVE_BLOCK = 1 << 15  # values whose bits are moved at once, for the same reason


def normalize_code(lang: str, code: str) -> str:
    """Drop comments and layout so that reformatted copies hash alike."""
    if lang == "python":
        return _normalize_python(code)
    if lang in ("html", "svg"):
        code = WHITESPACE.sub(lambda m: "" if _beside_tag(m) else m.group(0), _without_comments(code))
    elif lang == "latex":
        code = re.sub(r"(?<!\\)%.*", "", code)
    elif lang == "smiles":
        return _canonical_smiles(code)
    return re.sub(r"\s+", " ", code).strip()


WHITESPACE = re.compile(r"\s+")


def _without_comments(code: str) -> str:
    """``code`` less its ``<!-- -->`` comments, by ``str.find`` (a lazy regex rescans to the end from
    every unclosed ``<!--``: quadratic on untrusted code)."""
    kept, pos = [], 0
    while (start := code.find("<!--", pos)) >= 0 and (stop := code.find("-->", start + 4)) >= 0:
        kept.append(code[pos:start])
        pos = stop + 3
    kept.append(code[pos:])
    return "".join(kept)


def _beside_tag(run: re.Match) -> bool:
    """A whitespace run right after ``>`` or right before ``<`` (layout between tags)."""
    text, start, end = run.string, run.start(), run.end()
    return (start > 0 and text[start - 1] == ">") or (end < len(text) and text[end] == "<")


def _normalize_python(code: str) -> str:
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)]
        return " ".join(t.string for t in tokens if t.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.sub(r"\s+", " ", re.sub(r"#.*", "", code)).strip()


def _canonical_smiles(code: str) -> str:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    token = code.split()[0] if code.split() else ""
    mol = Chem.MolFromSmiles(token)
    return Chem.MolToSmiles(mol) if mol is not None else token


def phash_of(image) -> str:
    """Hex 64-bit perceptual hash of a decoded PIL image."""
    import imagehash

    return str(imagehash.phash(image.convert("RGB")))


def phash_hex(png: bytes) -> str:
    from PIL import Image

    return phash_of(Image.open(io.BytesIO(png)))


def hex_to_u64(values: list[str]) -> np.ndarray:
    return np.array([int(v, 16) for v in values], dtype=np.uint64)


def popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x)


def near_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """All index pairs ``(i, j)``, ``i < j``, whose hashes differ in at most ``radius`` bits.

    Sorted by ``(i, j)``. Equal hashes are searched once (their rows pair up among themselves and
    inherit their value's pairs), the distinct values through ``_distinct_near_pairs``.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = np.argsort(hashes)
    sorted_hashes = hashes[order]
    first = np.concatenate(([True], sorted_hashes[1:] != sorted_hashes[:-1]))
    starts = np.flatnonzero(first)
    values = sorted_hashes[starts]
    counts = np.diff(np.append(starts, n))
    if radius >= 64:
        value_pairs = _pairs_in_runs(np.zeros(len(values), dtype=np.int64))
    elif radius > 0 and len(values) > 1:
        value_pairs = _distinct_near_pairs(values, radius)
    else:
        value_pairs = np.zeros((0, 2), dtype=np.int64)
    equal = _pairs_in_runs(np.cumsum(first) - 1)
    rows = np.concatenate([order[equal], _row_pairs(value_pairs, order, starts, counts)])
    return _sorted_pairs(rows, n)


def _sorted_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    keyed = np.sort(lo.astype(np.int64) * n + hi)
    return np.stack([keyed // n, keyed % n], axis=1)


def _pairs_in_runs(labels: np.ndarray) -> np.ndarray:
    """Position pairs ``(a, b)``, ``a < b``, inside each run of equal values of sorted ``labels``."""
    found = []
    for offset, active in _run_offsets(labels):
        found.append(np.stack([active, active + offset], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def _run_offsets(labels: np.ndarray):
    """Yield ``(d, positions a)`` with ``labels[a] == labels[a + d]``, for d = 1, 2, ...

    Runs are contiguous, so the positions for ``d + 1`` are those for ``d`` whose run reaches one
    further: the work is the number of pairs, not the number of labels times the longest run.
    """
    if len(labels) < 2:
        return
    same_as_next = labels[1:] == labels[:-1]
    active = np.flatnonzero(same_as_next)
    if active.size == 0:
        return
    ends_here = ~same_as_next
    run_ends = np.append(np.flatnonzero(ends_here), len(labels) - 1)
    after = (run_ends[np.cumsum(ends_here, dtype=np.int32)[active]] - active).astype(np.int32)  # later run mates
    offset = 1
    while active.size:
        yield offset, active
        offset += 1
        keep = after >= offset
        active, after = active[keep], after[keep]


def _near_in_runs(values: np.ndarray, labels: np.ndarray, radius: int,
                  masks: list[np.uint64]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs inside runs of equal ``labels`` within ``radius`` bits that differ on every mask (first found here).

    While most values still have a run mate ``d`` further on, the whole slice is compared with
    itself shifted by ``d`` (contiguous, no gathers); later only the positions that do.
    """
    found = []
    for offset, active in _run_offsets(labels):
        if 4 * len(active) > len(values):
            x = values[offset:] ^ values[:-offset]
            near = np.flatnonzero((popcount(x) <= radius) & (labels[offset:] == labels[:-offset]))
            a = near
        else:
            x = values[active] ^ values[offset:][active]
            near = np.flatnonzero(popcount(x) <= radius)
            a = active[near]
        if near.size == 0:
            continue
        x = x[near]
        first_here = np.ones(len(near), dtype=bool)
        for mask in masks:
            first_here &= (x & mask) != 0
        a = a[first_here]
        found.append((values[a], values[a + offset]))
    return found


def _bucket_slices(moved: np.ndarray, shift: int, size: int):
    """Yield ``(lo, hi)`` slices of sorted ``moved`` of about ``size`` values that never cut a bucket
    (values equal above bit ``shift``)."""
    low = np.uint64((1 << shift) - 1)
    lo, n = 0, len(moved)
    while lo < n:
        hi = n if lo + size >= n else int(np.searchsorted(moved, moved[lo + size - 1] | low, side="right"))
        yield lo, hi
        lo = hi


def _run_chunks(labels: np.ndarray, size: int):
    """Yield ``(lo, hi)`` slices of sorted ``labels`` of about ``size`` values that never cut a run."""
    lo, n = 0, len(labels)
    while lo < n:
        hi = n if lo + size >= n else int(np.searchsorted(labels, labels[lo + size - 1], side="right"))
        yield lo, hi
        lo = hi


def _row_pairs(value_pairs: np.ndarray, order: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Every row of one value paired with every row of the other, for each near pair of values."""
    if len(value_pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    u, w = value_pairs[:, 0], value_pairs[:, 1]
    cu, cw = counts[u], counts[w]
    if (cu == 1).all() and (cw == 1).all():
        return np.stack([order[starts[u]], order[starts[w]]], axis=1)
    sizes = cu * cw
    which = np.repeat(np.arange(len(value_pairs)), sizes)
    k = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.stack([order[starts[u][which] + k // cw[which]], order[starts[w][which] + k % cw[which]]], axis=1)


def _distinct_near_pairs(values: np.ndarray, radius: int) -> np.ndarray:
    """Index pairs of the sorted distinct ``values`` within ``radius`` bits, each found exactly once."""
    search = _Search(radius)
    search.node(values, np.zeros(1, dtype=np.int64), (), tuple(range(64)), ())
    if not search.found:
        return np.zeros((0, 2), dtype=np.int64)
    first = np.concatenate([a for a, _ in search.found])
    second = np.concatenate([b for _, b in search.found])
    return np.stack([_positions(values, first), _positions(values, second)], axis=1)


def _positions(values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Where each query sits in the sorted ``values`` (binary search is fastest on sorted queries)."""
    order = np.argsort(queries)
    out = np.empty(len(queries), dtype=np.int64)
    out[order] = np.searchsorted(values, queries[order])
    return out


class _BitOrder:
    """A bijection of the 64 bits: ``order[i]`` is the bit that moves to position ``63 - i``.

    Sorting values with the bits to key on moved to the top groups them by those bits, and the
    Hamming distance is the same in either order, so candidates are compared without going back.
    Adjacent bits move together: one shift and mask per run.
    """

    def __init__(self, order: tuple[int, ...]):
        self.runs: list[tuple[int, int, int]] = []  # (source shift, width, target shift)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and order[j + 1] == order[j] - 1:
                j += 1
            self.runs.append((order[j], j - i + 1, 63 - j))
            i = j + 1

    def forward(self, values: np.ndarray) -> np.ndarray:
        return self._move(values, [(src, width, dst) for src, width, dst in self.runs])

    def back(self, values: np.ndarray) -> np.ndarray:
        return self._move(values, [(dst, width, src) for src, width, dst in self.runs])

    def mask(self, mask: int) -> int:
        return sum(((mask >> src) & ((1 << width) - 1)) << dst for src, width, dst in self.runs)

    @staticmethod
    def _move(values: np.ndarray, runs: list[tuple[int, int, int]]) -> np.ndarray:
        """Each run masked, shifted and or-ed in, a cache-sized block at a time."""
        out = np.zeros(len(values), dtype=np.uint64)
        run = np.empty(min(len(values), MOVE_BLOCK), dtype=np.uint64)
        steps = [(np.uint64(((1 << width) - 1) << src), np.uint64(abs(dst - src)), dst > src)
                 for src, width, dst in runs]
        for lo in range(0, len(values), MOVE_BLOCK):
            block, target = values[lo:lo + MOVE_BLOCK], out[lo:lo + MOVE_BLOCK]
            tmp = run[:len(block)]
            for mask, distance, up in steps:
                np.bitwise_and(block, mask, out=tmp)
                if up:
                    tmp <<= distance
                else:
                    tmp >>= distance
                target |= tmp
        return out


def _plan(bits: tuple[int, ...], members: int, groups: int, pair_load: float, sample: np.ndarray,
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
        parts = _cut(bits, count)
        masks = [_mask(part) for part in parts]
        share = [_agree_share(sample, m, len(part)) for m, part in zip(masks, parts)]
        cost = 0.0
        for chosen in itertools.combinations(range(count), count - radius):
            measured = _agree_share(sample, sum(masks[i] for i in chosen), sum(len(parts[i]) for i in chosen))
            cost += SORT_COST * members + pair_load * max(measured, math.prod(share[i] for i in chosen))
        if cost < best_cost:
            best, best_cost = parts, cost
    return best


def _agree_share(sample: np.ndarray, mask: int, bits: int) -> float:
    """Share of sampled pairs equal on ``mask``; at least what uniform random bits would give."""
    if len(sample) == 0:
        return 2.0 ** -bits
    return max(np.count_nonzero((sample & np.uint64(mask)) == 0) / len(sample), 2.0 ** -bits)


def _cut(bits: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    edges = np.linspace(0, len(bits), count + 1).round().astype(int)
    return [bits[edges[i]:edges[i + 1]] for i in range(count)]


def _group_pair_xors(values: np.ndarray, starts: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
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


@dataclass
class _Search:
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
        sample = _group_pair_xors(members, starts, int(min(PLAN_SAMPLE, pair_load)), np.random.default_rng(len(members)))
        parts = _plan(free, len(members), len(starts), pair_load, sample, self.radius)
        if parts is None:
            self.compare_groups(members, starts, checks)
            return
        for chosen in itertools.combinations(range(len(parts)), len(parts) - self.radius):
            key = sum((parts[i] for i in chosen), ())
            skipped = tuple(_mask(parts[i]) for i in range(chosen[-1]) if i not in chosen)
            self.key_pass(members, fixed, key, tuple(b for b in free if b not in key), checks + skipped)

    def key_pass(self, members: np.ndarray, fixed: tuple[int, ...], key: tuple[int, ...], rest: tuple[int, ...],
                 checks: tuple[int, ...]) -> None:
        """Sort by (fixed bits, key bits); compare the small buckets, hand the crowded ones down.

        After the sort the values are walked a cache-sized slice at a time (a slice ends where a
        bucket does): every step after the sort then runs in cache, and no temporary is corpus-sized.
        """
        top = sorted(fixed, reverse=True) + sorted(key, reverse=True)
        order = _BitOrder(tuple(top + sorted(set(range(64)) - set(top), reverse=True)))
        moved = order.forward(members)
        moved.sort()
        shift = np.uint64(64 - len(top))
        masks = [np.uint64(order.mask(m)) for m in checks]
        found, crowded, sizes = [], [], []
        for lo, hi in _bucket_slices(moved, 64 - len(top), CHUNK):
            part = moved[lo:hi]
            labels = part >> shift
            if len(part) > REFINE_ABOVE and (labels[REFINE_ABOVE:] == labels[:-REFINE_ABOVE]).any():
                starts = np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))
                lengths = np.diff(np.append(starts, len(labels)))
                big = np.repeat(lengths > REFINE_ABOVE, lengths)
                crowded.append(part[big])
                sizes.append(lengths[lengths > REFINE_ABOVE])
                part, labels = part[~big], labels[~big]
            found.extend(_near_in_runs(part, labels, self.radius, masks))
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
        for lo, hi in _run_chunks(labels, CHUNK):
            found.extend(_near_in_runs(values[lo:hi], labels[lo:hi], self.radius, masks))
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


def _mask(bits: tuple[int, ...]) -> int:
    return sum(1 << b for b in bits)


def brute_force_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """Reference all-pairs search, for the benchmark and the tests (a block of rows at a time)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    n, found = len(hashes), []
    block = max(1, BRUTE_CELLS // max(n, 1))
    for lo in range(0, n, block):
        rows = np.arange(lo, min(lo + block, n))
        dist = popcount(hashes[rows][:, None] ^ hashes[lo:][None, :])
        a, b = np.nonzero(dist <= radius)
        keep = rows[a] < lo + b
        found.append(np.stack([rows[a[keep]], lo + b[keep]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def greedy_keep(n: int, pairs: np.ndarray) -> np.ndarray:
    """Keep row ``j`` unless an earlier *kept* row is within the radius; returns a boolean mask."""
    keep = np.ones(n, dtype=bool)
    if len(pairs) == 0:
        return keep
    order = np.argsort(pairs[:, 1], kind="stable")
    later, earlier = pairs[order, 1], pairs[order, 0]
    bounds = np.searchsorted(later, np.arange(n + 1))
    for j in np.unique(later):
        neighbours = earlier[bounds[j]:bounds[j + 1]]
        if keep[neighbours].any():
            keep[j] = False
    return keep


def duplicate_of(n: int, pairs: np.ndarray, keep: np.ndarray) -> dict[int, int]:
    """For each dropped row, the earliest kept row it is near (for the record of why it went)."""
    out: dict[int, int] = {}
    for i, j in pairs:
        if not keep[j] and keep[i] and (j not in out or i < out[j]):
            out[int(j)] = int(i)
    return out
