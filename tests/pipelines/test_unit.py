"""The unit's driver: its steps in order; the executors' one failure policy."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from core.errors import BuildError
from pipelines.executors.local import run_units
from pipelines.unit import UNIT_STEPS, Unit, UnitRunner


def test_the_steps_are_objects_named_and_run_in_order(tiny_manifest):
    from core.steps import Step
    from pipelines.manifest import load_manifest

    assert [s.name for s in UNIT_STEPS] == ["harvest", "license_filter", "quality_code", "execution", "quality_image",
                                           "source_images", "refine"]
    runner = UnitRunner(load_manifest(tiny_manifest()), Path("units"))
    assert [type(s) for s in runner.steps] == list(UNIT_STEPS) and all(isinstance(s, Step) for s in runner.steps)
    assert [s.name for s in runner.steps if s.resources.renders] == ["execution", "refine"]


class FlakyRunner:
    """Unit 0 fails once, unit 1 always; the others succeed. Counts setup/teardown."""

    def __init__(self):
        self.calls, self.lock, self.setups, self.teardowns = {}, threading.Lock(), 0, 0

    def setup(self):
        self.setups += 1

    def teardown(self):
        self.teardowns += 1

    def __call__(self, unit):
        with self.lock:
            self.calls[unit.index] = self.calls.get(unit.index, 0) + 1
            n = self.calls[unit.index]
        if unit.index == 1 or (unit.index == 0 and n == 1):
            raise RuntimeError(f"unit {unit.index} broke, try {n}")
        return unit.index * 10


def test_local_executor_retries_then_names_what_kept_failing():
    units = [Unit(0, i, i, i + 1) for i in range(4)]
    runner = FlakyRunner()
    done = []
    with pytest.raises(BuildError, match=r"^unit u-000-00001: RuntimeError: unit 1 broke, try 3 \(failed 3 times;"):
        for unit, kept in run_units(units, runner, workers=2, retries=2):
            done.append((unit.index, kept))
    assert sorted(done) == [(0, 0), (2, 20), (3, 30)]
    assert runner.calls == {0: 2, 1: 3, 2: 1, 3: 1} and (runner.setups, runner.teardowns) == (1, 1)
