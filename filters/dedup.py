"""Deduplication: exact on normalised code, perceptual on image hashes within a Hamming radius.

Near-duplicate search uses multi-index hashing: split the 64-bit pHash into ``radius + 1`` chunks;
by the pigeonhole principle two hashes within ``radius`` bits agree exactly on at least one chunk,
so only hashes sharing a chunk value are compared (vectorised popcounts within each bucket). It
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
SORT_COST = 3.0  # one sort pass per member, in candidate comparisons (the search's cost model)
PLAN_SAMPLE = 4096  # group pairs sampled to measure how often a key's bits agree
MAX_KEYS = 70  # most sorts one node may plan (C(8, 4) for radius 4)
REFINE_ABOVE = 32  # a bucket larger than this is split on further bits rather than compared pair by pair


def normalize_code(lang: str, code: str) -> str:
    """Drop comments and layout so that reformatted copies hash alike."""
    if lang == "python":
        return _normalize_python(code)
    if lang in ("html", "svg"):
        code = re.sub(r"<!--.*?-->", "", code, flags=re.S)
        code = re.sub(r">\s+", ">", re.sub(r"\s+<", "<", code))
    elif lang == "latex":
        code = re.sub(r"(?<!\\)%.*", "", code)
    elif lang == "smiles":
        return _canonical_smiles(code)
    return re.sub(r"\s+", " ", code).strip()


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

    Runs are contiguous, so the positions for ``d + 1`` are a subset of those for ``d``: the work
    is the number of pairs, not the number of labels times the longest run.
    """
    active = np.flatnonzero(labels[1:] == labels[:-1])
    offset = 1
    while active.size:
        yield offset, active
        offset += 1
        active = active[active + offset < len(labels)]
        active = active[labels[active + offset] == labels[active]]


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
    """Index pairs of distinct ``values`` within ``radius`` bits, each found exactly once."""
    search = _Search(values, radius)
    search.node(np.arange(len(values)), np.zeros(len(values), dtype=np.int64), tuple(range(64)), ())
    return np.concatenate(search.found) if search.found else np.zeros((0, 2), dtype=np.int64)


def _plan(bits: tuple[int, ...], members: int, pair_load: float, sample: np.ndarray, radius: int) -> list[tuple[int, ...]] | None:
    """The cheapest cut of ``bits`` into parts, or None when comparing every pair of each group is cheaper.

    The cost model counts candidate comparisons: a sort pass costs ``SORT_COST`` per member, and a
    key's candidates are the group pairs (``pair_load``) times the share of ``sample`` (xors of
    random group pairs) that agree on the key -- measured, since real hashes cluster.
    """
    best, best_cost = None, pair_load
    for count in range(radius + 1, min(len(bits), radius + 5) + 1):
        parts = _cut(bits, count)
        cost = 0.0
        for chosen in itertools.combinations(range(count), count - radius):
            key = sum((parts[i] for i in chosen), ())
            agree = np.count_nonzero((sample & np.uint64(_mask(key))) == 0) / max(len(sample), 1)
            cost += SORT_COST * members + pair_load * max(agree, 2.0 ** -len(key))
        if cost < best_cost:
            best, best_cost = parts, cost
    return best


def _cut(bits: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    edges = np.linspace(0, len(bits), count + 1).round().astype(int)
    return [bits[edges[i]:edges[i + 1]] for i in range(count)]


def _group_pair_xors(values: np.ndarray, groups: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Xors of ``size`` random pairs of members of one group (groups sorted, drawn by their pair count)."""
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    lengths = np.diff(np.append(starts, len(groups))).astype(np.float64)
    weight = lengths * (lengths - 1)
    if weight.sum() == 0:
        return np.zeros(0, dtype=np.uint64)
    which = rng.choice(len(starts), size=size, p=weight / weight.sum())
    first = rng.random(size) * lengths[which]
    second = (first.astype(np.int64) + 1 + (rng.random(size) * (lengths[which] - 1)).astype(np.int64)) % lengths[which].astype(np.int64)
    return values[starts[which] + first.astype(np.int64)] ^ values[starts[which] + second]


@dataclass
class _Search:
    """Multi-index search over distinct values that splits a crowded bucket on its remaining bits.

    A node holds groups of members that agree on the bits its ancestors keyed on. It cuts its free
    bits into ``parts`` runs; a pair within ``radius`` differs on at most ``radius`` of them, so it
    agrees exactly on some ``agree = parts - radius`` of them: one sort per such subset finds it.
    A pair is reported only under the *first* subset it agrees on (it must differ on every skipped
    part before that subset's last), which with the ancestors' checks makes each pair found once.
    Buckets up to ``REFINE_ABOVE`` members are compared pair by pair; a crowded one becomes a group
    of a child node on the bits not yet keyed on.
    """

    values: np.ndarray
    radius: int
    found: list[np.ndarray] = field(default_factory=list)

    def node(self, members: np.ndarray, groups: np.ndarray, bits: tuple[int, ...], checks: tuple[int, ...]) -> None:
        values = self.values[members]
        varying = int(np.bitwise_or.reduce(values ^ values[0]))
        bits = tuple(b for b in bits if varying >> b & 1)  # bits every member shares cost no radius
        sizes = np.bincount(groups).astype(np.float64)
        sample = _group_pair_xors(values, groups, PLAN_SAMPLE, np.random.default_rng(len(members)))
        parts = _plan(bits, len(members), float((sizes * (sizes - 1) / 2).sum()), sample, self.radius)
        if parts is None:
            self.compare_groups(members, groups, checks)
            return
        for chosen in itertools.combinations(range(len(parts)), len(parts) - self.radius):
            key_bits = sum((parts[i] for i in chosen), ())
            skipped = tuple(_mask(parts[i]) for i in range(chosen[-1]) if i not in chosen)
            self.key_pass(members, values, groups, key_bits, tuple(b for b in bits if b not in key_bits), checks + skipped)

    def key_pass(self, members: np.ndarray, values: np.ndarray, groups: np.ndarray, key_bits: tuple[int, ...],
                 rest: tuple[int, ...], checks: tuple[int, ...]) -> None:
        """Bucket the members by (group, key bits); compare small buckets, hand crowded ones down."""
        labels, order = _sorted_labels(groups, _bits_of(values, key_bits), len(key_bits))
        if len(labels) <= REFINE_ABOVE or not (labels[REFINE_ABOVE:] == labels[:-REFINE_ABOVE]).any():
            self.compare_runs(members, values, order, labels, checks)
            return
        starts = np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))
        lengths = np.diff(np.append(starts, len(labels)))
        crowded = np.repeat(lengths > REFINE_ABOVE, lengths)
        self.compare_runs(members, values, order[~crowded], labels[~crowded], checks)
        child_groups = np.repeat(np.arange(int((lengths > REFINE_ABOVE).sum())), lengths[lengths > REFINE_ABOVE])
        self.node(members[order[crowded]], child_groups, rest, checks)

    def compare_runs(self, members: np.ndarray, values: np.ndarray, order: np.ndarray, labels: np.ndarray,
                     checks: tuple[int, ...]) -> None:
        """Pairs of sorted positions inside runs of equal labels, checked (``order`` maps positions to members)."""
        for offset, active in _run_offsets(labels):
            a, b = order[active], order[active + offset]
            x = values[a] ^ values[b]
            near = np.flatnonzero(popcount(x) <= self.radius)
            if near.size:
                self.report(members[a[near]], members[b[near]], x[near], checks)

    def report(self, a: np.ndarray, b: np.ndarray, x: np.ndarray, checks: tuple[int, ...]) -> None:
        """Keep the near pairs (``x``: their xors) that differ on every ``checks`` mask."""
        first_here = np.ones(len(x), dtype=bool)
        for mask in checks:
            first_here &= (x & np.uint64(mask)) != 0
        self.found.append(np.stack([a[first_here], b[first_here]], axis=1))

    def compare_groups(self, members: np.ndarray, groups: np.ndarray, checks: tuple[int, ...]) -> None:
        """Every pair of each group (sorted by group), big groups a block of rows at a time."""
        starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
        ends = np.append(starts[1:], len(groups))
        small = np.repeat(ends - starts <= REFINE_ABOVE, ends - starts)
        self.compare_runs(members, self.values[members], np.flatnonzero(small), groups[small], checks)
        for start, end in zip(starts[ends - starts > REFINE_ABOVE], ends[ends - starts > REFINE_ABOVE]):
            group = members[start:end]
            block = max(1, BRUTE_CELLS // len(group))
            for lo in range(0, len(group), block):
                rows, rest = group[lo:lo + block], group[lo:]
                dist = popcount(self.values[rows][:, None] ^ self.values[rest][None, :])
                i, j = np.nonzero((dist <= self.radius) & (np.arange(len(rows))[:, None] < np.arange(len(rest))[None, :]))
                self.report(rows[i], rest[j], self.values[rows[i]] ^ self.values[rest[j]], checks)


def _mask(bits: tuple[int, ...]) -> int:
    return sum(1 << b for b in bits)


def _bits_of(values: np.ndarray, bits: tuple[int, ...]) -> np.ndarray:
    """The chosen bits of each value packed into a small integer (one shift per run of adjacent bits)."""
    key = np.zeros(len(values), dtype=np.uint64)
    offset, i = 0, 0
    while i < len(bits):
        j = i
        while j + 1 < len(bits) and bits[j + 1] == bits[j] + 1:
            j += 1
        width = j - i + 1
        run = (values >> np.uint64(bits[i])) & np.uint64((1 << width) - 1)
        key |= run << np.uint64(offset)
        offset += width
        i = j + 1
    return key


def _sorted_labels(groups: np.ndarray, keys: np.ndarray, key_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by (group, key) and a label per sorted position that changes with (group, key).

    One sort of packed integers (group, key, position) where they fit in 64 bits, else a lexsort.
    """
    n = len(keys)
    index_bits = max(int(n - 1).bit_length(), 1)
    group_bits = int(groups.max()).bit_length() if n else 0
    if group_bits + key_bits + index_bits > 64:
        order = np.lexsort((keys, groups))
        g, k = groups[order], keys[order]
        change = (g[1:] != g[:-1]) | (k[1:] != k[:-1])
        return np.concatenate(([0], np.cumsum(change))), order
    packed = (groups.astype(np.uint64) << np.uint64(key_bits + index_bits)) | (keys << np.uint64(index_bits))
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    return packed >> np.uint64(index_bits), (packed & np.uint64((1 << index_bits) - 1)).astype(np.int64)


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
