"""Deduplication: exact on normalised code, perceptual on image hashes within a Hamming radius.

Near-duplicate search uses multi-index hashing: split the 64-bit pHash into ``radius + 1`` chunks;
by the pigeonhole principle two hashes within ``radius`` bits agree exactly on at least one chunk,
so only hashes sharing a chunk value are compared (vectorised popcounts within each bucket). It
finds exactly the pairs brute force finds. Survivors are chosen greedily in a fixed row order, so
the result does not depend on how the corpus was sharded.
"""
from __future__ import annotations

import io
import re
import tokenize

import numpy as np

BRUTE_BLOCK = 2048


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


def _chunks(radius: int) -> list[tuple[int, int]]:
    """(shift, bits) of ``radius + 1`` nearly equal chunks covering 64 bits."""
    parts = min(radius + 1, 64)
    sizes = [64 // parts + (1 if i < 64 % parts else 0) for i in range(parts)]
    out, shift = [], 0
    for size in sizes:
        out.append((shift, size))
        shift += size
    return out


def near_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """All index pairs ``(i, j)``, ``i < j``, whose hashes differ in at most ``radius`` bits."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    found: list[np.ndarray] = []
    for shift, bits in _chunks(radius):
        mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        keys = (hashes >> np.uint64(shift)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        bounds = np.flatnonzero(np.diff(sorted_keys)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [n]))
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
            found.append(_pairs_within(order[start:end], hashes, radius))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    if len(pairs) == 0:
        return pairs.reshape(0, 2)
    keyed = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([keyed // n, keyed % n], axis=1)


def _pairs_within(idx: np.ndarray, hashes: np.ndarray, radius: int) -> np.ndarray:
    idx = np.sort(idx)
    out = []
    for lo in range(0, len(idx), BRUTE_BLOCK):
        block = idx[lo:lo + BRUTE_BLOCK]
        rest = idx[lo:]
        dist = popcount(hashes[block][:, None] ^ hashes[rest][None, :])
        a, b = np.nonzero(dist <= radius)
        keep = lo + a < lo + b
        out.append(np.stack([block[a[keep]], rest[b[keep]]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)


def brute_force_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """Reference all-pairs search, for the benchmark and the tests."""
    return _pairs_within(np.arange(len(hashes)), np.asarray(hashes, dtype=np.uint64), radius)


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
