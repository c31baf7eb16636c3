"""EMS against HELM's own code on fixed (target, answer) pictures (``official.json`` says how the numbers were
obtained); the exact transports behind it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.benchmarks.ems import ems, patch_emd, pixel_points, transport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "benchmarks" / "ems"
OFFICIAL = json.loads((FIXTURES / "official.json").read_text())["pairs"]
TOLERANCE = 2e-6  # cv2.EMD works in float32; the LP here in float64


@pytest.mark.parametrize("change", ["identical", "color", "removed", "moved"])
def test_ems_agrees_with_helm(change):
    target = (FIXTURES / "target.png").read_bytes()
    assert ems((FIXTURES / f"{change}.png").read_bytes(), target) == pytest.approx(OFFICIAL[change], abs=TOLERANCE)


@pytest.mark.parametrize("change", ["identical", "color"])
def test_without_shortcuts_every_patch_pair_is_solved_to_the_same_value(change):
    pytest.importorskip("cv2")  # without OpenCV every pair would be a HiGHS programme: minutes
    target, answer = (FIXTURES / "target.png").read_bytes(), (FIXTURES / f"{change}.png").read_bytes()
    assert ems(answer, target, shortcuts=False) == pytest.approx(ems(answer, target), abs=1e-6)


def test_identical_pictures_score_one_and_every_change_less():
    assert OFFICIAL["identical"] == 1.0
    assert all(v < 1.0 for k, v in OFFICIAL.items() if k != "identical")


def test_equal_weights_take_the_assignment_shortcut_to_the_same_optimum():
    rng = np.random.default_rng(3)
    first, second = pixel_points(rng.random(64).astype(np.float32), -1.0), pixel_points(rng.random(64).astype(np.float32), -1.0)
    cost = np.abs(first[:, None, 1:] - second[None, :, 1:]).sum(axis=2)
    assert patch_emd(first, second) == pytest.approx(transport(first[:, 0], second[:, 0], cost), abs=1e-6)


def test_transport_moves_mass_at_the_least_cost():
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert transport(np.array([0.5, 0.5]), np.array([0.5, 0.5]), cost) == pytest.approx(0.0, abs=1e-7)
    assert transport(np.array([1.0, 0.0]), np.array([0.25, 0.75]), cost) == pytest.approx(0.75, abs=1e-7)


def test_a_one_grey_patch_splits_into_its_grey_term_and_a_grid_flow():
    rng = np.random.default_rng(5)
    values = rng.random(64).astype(np.float32)
    values[::3] = 1.0  # background pixels: weight 0.001
    first, second = pixel_points(np.full(64, 0.25, dtype=np.float32), 1.0), pixel_points(values, 1.0)
    cost = np.abs(first[:, None, 1:] - second[None, :, 1:]).sum(axis=2)
    full = transport(first[:, 0], second[:, 0], cost)
    assert patch_emd(first, second) == pytest.approx(full, abs=1e-6)
    assert patch_emd(second, first) == pytest.approx(full, abs=1e-6)
