"""ChartMimic's colour score: the assignment solver finds the official brute-force optimum."""
from __future__ import annotations

import random

import pytest

from training.benchmarks.colors import (best_total, best_total_brute_force, color_total, filter_similar, similarity,
                                        similarity_matrix)


def random_colors(rng: random.Random, n: int) -> list[str]:
    names = ["viridis", "coolwarm", "Blues"]
    return [rng.choice(names) if rng.random() < 0.15 else "#%06X" % rng.randrange(1 << 24) for _ in range(n)]


@pytest.mark.parametrize("seed", range(40))
def test_assignment_equals_brute_force(seed):
    rng = random.Random(seed)
    a, b = random_colors(rng, rng.randint(1, 6)), random_colors(rng, rng.randint(1, 6))
    assert best_total(a, b) == pytest.approx(best_total_brute_force(a, b), abs=1e-12)


def test_pairing_beats_the_list_order():
    a, b = ["#FF0000", "#0000FF"], ["#0000FF", "#FF0000"]
    assert best_total(a, b) == pytest.approx(2.0)
    assert sum(similarity(x, y) for x, y in zip(a, b)) < 1.0


def test_similarity_rules():
    assert similarity("#4C72B0", "#4C72B0") == 1.0
    assert similarity("viridis", "viridis") == 1.0 and similarity("viridis", "magma") == 0.0
    assert similarity("viridis", "#440154") == 0.0
    assert 0.0 < similarity("#FF0000", "#EE0000") < 1.0
    assert similarity("#000000", "#FFFFFF") == 0.0  # CIEDE2000 of 100: floored at 0
    assert similarity_matrix([], ["#000000"]).shape == (0, 1)


def test_colours_pair_only_within_their_drawing_function():
    assert color_total(["_axes/bar--#FF0000"], ["_axes/pie--#FF0000"]) == 0.0
    assert color_total(["_axes/bar--#FF0000"], ["_axes/bar--#FF0000"]) == 1.0


def test_more_than_ten_colours_drop_near_duplicates():
    ten = [f"_axes/bar--#{i:02X}0000" for i in range(0, 250, 25)]
    assert filter_similar(ten) == ten
    eleven = ten + ["_axes/bar--#00FF00"]
    kept = filter_similar(eleven)
    assert "_axes/bar--#00FF00" in kept and len(kept) < len(eleven)
