"""Design2Code's matching: merge search, context bonus, the four block scores on hand-made blocks."""
from __future__ import annotations

import numpy as np
import pytest

from training.benchmarks.design2code_blocks import Block
from training.benchmarks.design2code_match import block_scores, mean_gain, merge_search, with_context


def block(text, x=0.1, y=0.1, w=0.2, h=0.05, color=(0, 0, 0)):
    return Block(text, (x, y, w, h), color)


def test_split_blocks_are_merged_to_match_a_whole_one():
    answer = [block("hello there", y=0.1), block("general kenobi", y=0.16), block("footer", y=0.9)]
    reference = [block("hello there general kenobi", y=0.1, h=0.11), block("footer", y=0.9)]
    a, b, matching = merge_search(answer, reference)
    assert [x.text for x in a] == ["hello there general kenobi", "footer"]
    assert a[0].bbox == pytest.approx((0.1, 0.1, 0.2, 0.11))
    assert sorted(matching) == [(0, 0), (1, 1)]


def test_identical_blocks_score_one_and_a_missing_block_lowers_only_block_match():
    reference = [block("title", y=0.1), block("body text here", y=0.3, w=0.6, h=0.2), block("footer", y=0.9)]
    scores, _ = block_scores([Block(b.text, b.bbox, b.color) for b in reference], reference)
    assert scores == {"block": 1.0, "text": 1.0, "position": 1.0, "color": 1.0}
    scores, _ = block_scores(reference[:1] + reference[2:], reference)
    assert scores["block"] == pytest.approx(4 * 0.01 / (4 * 0.01 + 0.12)) and scores["text"] == 1.0


def test_position_is_the_larger_shift_of_the_centres_and_colour_is_ciede2000():
    reference = [block("only", x=0.1, y=0.1, color=(255, 0, 0))]
    scores, _ = block_scores([block("only", x=0.15, y=0.3, color=(255, 0, 0))], reference)
    assert scores["position"] == pytest.approx(0.8)
    scores, _ = block_scores([block("only", color=(0, 0, 255))], reference)
    assert 0.0 < scores["color"] < 0.6


def test_pairs_below_half_similarity_are_not_matches():
    scores, _ = block_scores([block("completely different")], [block("xyz")])
    assert scores == {"block": 0.0, "text": 0.0, "position": 0.0, "color": 0.0}


def test_context_bonus_rewards_a_good_pair_among_good_neighbours():
    cost = -np.array([[0.9, 0.8], [0.7, 0.2]])
    adjusted = with_context(cost, 0.1, 1)
    assert adjusted[0, 0] == pytest.approx(-0.9 + 0.1 * (-0.8 - 0.7))
    assert adjusted[1, 1] == cost[1, 1] and with_context(cost, 0.0, 1) is cost


def test_mean_gain_compares_only_the_costs_that_changed():
    assert mean_gain([-0.9, -0.4], [-0.9, -0.8]) == pytest.approx(0.4)
    assert mean_gain([-0.9, -0.4], [-0.9, -0.4]) == 0
