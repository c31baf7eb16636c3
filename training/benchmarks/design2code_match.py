"""Design2Code's block matching and its four block scores, as ``visual_score.py`` defines them.

Matching: the cost of pairing two blocks is minus their text similarity (``difflib`` ratio, the
character-level Sorensen-Dice of the paper); pairs that already match well get a bonus from their
neighbours (``with_context``); the optimum is the Jonker-Volgenant assignment
(``scipy.optimize.linear_sum_assignment``, as officially). Blocks of different granularity are first
merged with their next neighbour where that lifts the matched similarities (``merge_search``), and
matched pairs below 0.5 similarity are dropped.

Scores of the matched pairs: block-match (matched area over all area, unmatched blocks of either side
included), text (mean similarity), position (mean of ``1 - max(|dx|, |dy|)`` of the normalised
centres), colour (mean of ``1 - CIEDE2000 / 100``, floored at 0).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from difflib import SequenceMatcher

import numpy as np

from .design2code_blocks import Block

MIN_SIMILARITY = 0.5
MERGE_GAIN = 0.05
CONTEXT_BONUS, CONTEXT_WINDOW = 0.1, 1


class Similarity:
    """Text similarity, memoised: the merge search asks for the same pairs again and again."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}

    def __call__(self, a: str, b: str) -> float:
        key = (a, b)
        if key not in self._seen:
            self._seen[key] = SequenceMatcher(None, a, b).ratio()
        return self._seen[key]

    def costs(self, a: list[Block], b: list[Block]) -> np.ndarray:
        cost = np.zeros((len(a), len(b)))
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                cost[i, j] = -self(x.text, y.text)
        return cost


def with_context(cost: np.ndarray, bonus: float, window: int) -> np.ndarray:
    """Each cost below -0.5 gets ``bonus`` times the sum of the ``2 * window`` lowest other costs of its
    ``(2 window + 1)``-square neighbourhood added (``adjust_cost_for_context``)."""
    if window <= 0 or bonus == 0:
        return cost
    n, m = cost.shape
    adjusted = cost.copy()
    for i, j in zip(*np.nonzero(cost < -0.5)):
        near = np.sort(cost[max(0, i - window):min(n, i + window + 1), max(0, j - window):min(m, j + window + 1)].ravel())[::-1]
        near = np.delete(near, np.nonzero(near == cost[i, j])[0][0])
        adjusted[i, j] += bonus * np.sum(near[-window * 2:])
    return adjusted


def best_matching(a: list[Block], b: list[Block], sim: Similarity, bonus: float, window: int) -> tuple[list[tuple[int, int]], list[float]]:
    from scipy.optimize import linear_sum_assignment

    cost = with_context(sim.costs(a, b), bonus, window)
    rows, cols = linear_sum_assignment(cost)
    return list(zip(rows.tolist(), cols.tolist())), cost[rows, cols].tolist()


def merged(first: Block, second: Block) -> Block:
    x0, y0 = min(first.bbox[0], second.bbox[0]), min(first.bbox[1], second.bbox[1])
    x1 = max(first.bbox[0] + first.bbox[2], second.bbox[0] + second.bbox[2])
    y1 = max(first.bbox[1] + first.bbox[3], second.bbox[1] + second.bbox[3])
    return Block(first.text + " " + second.text, (x0, y0, x1 - x0, y1 - y0),
                 tuple((p + q) // 2 for p, q in zip(first.color, second.color)))


def merge_same_boxes(blocks: list[Block]) -> list[Block]:
    """Blocks with the very same box become one: texts joined, colours averaged pairwise in turn."""
    by_box: dict[tuple, Block] = {}
    for block in blocks:
        if block.bbox in by_box:
            kept = by_box[block.bbox]
            kept.text += " " + block.text
            kept.color = tuple((p + q) / 2 for p, q in zip(kept.color, block.color))
        else:
            by_box[block.bbox] = replace(block)
    return list(by_box.values())


def mean_gain(before: list[float], after: list[float]) -> float:
    """How much the matched costs fell, comparing only the costs not common to both lists
    (``difference_of_means``); a fall that raises the best cost counts as none."""
    left, right = Counter(before), Counter(after)
    common = left & right
    left, right = left - common, right - common
    only_before, only_after = list(left.elements()), list(right.elements())
    mean_before = sum(only_before) / len(only_before) if only_before else 0
    mean_after = sum(only_after) / len(only_after) if only_after else 0
    if mean_before - mean_after > 0:
        if only_before and only_after and min(only_before) > min(only_after):
            return mean_before - mean_after
        return 0.0
    return mean_before - mean_after


def apply_merges(blocks: list[Block], merges: list[tuple[int, int, float]]) -> list[Block]:
    """Merge the listed neighbour pairs, best gain first, skipping any pair that touches one merged."""
    blocks, dropped, todo = list(blocks), [], list(merges)
    while todo:
        i, j, _ = todo.pop(0)
        blocks[i] = merged(blocks[i], blocks[j])
        dropped.append(j)
        todo = [p for p in todo if p[0] not in (i, j) and p[1] not in (i, j)]
    for index in sorted(dropped, reverse=True):
        if index < len(blocks):
            blocks.pop(index)
    return blocks


def _merges(side: list[Block], other: list[Block], current: list[float], sim: Similarity, side_is_a: bool) -> list:
    found = []
    for i in range(len(side) - 1):
        trial = side[:i] + [merged(side[i], side[i + 1])] + side[i + 2:]
        _, costs = best_matching(trial, other, sim, 0.0, 1) if side_is_a else best_matching(other, trial, sim, 0.0, 1)
        gain = mean_gain(current, costs)
        if gain > MERGE_GAIN:
            found.append((i, i + 1, gain))
    return sorted(found, key=lambda m: m[2], reverse=True)


def merge_search(a: list[Block], b: list[Block], sim: Similarity | None = None):
    """Merge neighbouring blocks of either side while that improves the matching (``find_possible_merge``);
    returns both sides as merged and their final (context-weighted) matching."""
    sim = sim or Similarity()
    while True:
        changed = False
        _, current = best_matching(a, b, sim, 0.0, 1)
        if len(a) >= 2:
            merges = _merges(a, b, current, sim, True)
            if merges:
                changed, a = True, apply_merges(a, merges)
                _, current = best_matching(a, b, sim, 0.0, 1)
        if len(b) >= 2:
            merges = _merges(b, a, current, sim, False)
            if merges:
                changed, b = True, apply_merges(b, merges)
        if not changed:
            break
    matching, _ = best_matching(a, b, sim, CONTEXT_BONUS, CONTEXT_WINDOW)
    return a, b, matching


def colour_similarity(first, second) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = rgb2lab(np.array([first, second], dtype=np.float64).reshape(2, 1, 3) / 255.0).reshape(2, 3)
    return max(0.0, 1.0 - float(deltaE_ciede2000(lab[0], lab[1])) / 100.0)


def block_scores(answer: list[Block], reference: list[Block]) -> tuple[dict[str, float], list[Block]]:
    """Block-match, text, position and colour of an answer's blocks against the reference's (0 each where
    nothing matches), and the answer's blocks as the search merged them (the CLIP mask uses those)."""
    zero = {"block": 0.0, "text": 0.0, "position": 0.0, "color": 0.0}
    if not answer or not reference:
        return zero, answer
    sim = Similarity()
    a, b, matching = merge_search(merge_same_boxes(answer), merge_same_boxes(reference), sim)
    pairs = [(i, j, sim(a[i].text, b[j].text)) for i, j in matching]
    pairs = [p for p in pairs if p[2] >= MIN_SIMILARITY]
    if not pairs:
        return zero, a
    area = lambda block: block.bbox[2] * block.bbox[3]  # noqa: E731
    matched_a, matched_b = {i for i, _, _ in pairs}, {j for _, j, _ in pairs}
    unmatched = sum(area(x) for i, x in enumerate(a) if i not in matched_a) + sum(area(y) for j, y in enumerate(b) if j not in matched_b)
    matched = [area(a[i]) + area(b[j]) for i, j, _ in pairs]
    centre = lambda block: (block.bbox[0] + block.bbox[2] / 2, block.bbox[1] + block.bbox[3] / 2)  # noqa: E731
    positions = [1 - max(abs(centre(a[i])[0] - centre(b[j])[0]), abs(centre(a[i])[1] - centre(b[j])[1])) for i, j, _ in pairs]
    return {"block": float(np.sum(matched) / (unmatched + np.sum(matched))),
            "text": float(np.mean([s for _, _, s in pairs])),
            "position": float(np.mean(positions)),
            "color": float(np.mean([colour_similarity(a[i].color, b[j].color) for i, j, _ in pairs]))}, a
