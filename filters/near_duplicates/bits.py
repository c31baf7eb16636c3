"""Bit-level helpers of the search: popcount, masks of bit positions, and moving bits to the top."""
from __future__ import annotations

import numpy as np

MOVE_BLOCK = 1 << 15  # values whose bits are moved at once: their temporaries stay in cache


def popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x)


def mask_of(bits: tuple[int, ...]) -> int:
    return sum(1 << b for b in bits)


class BitOrder:
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
