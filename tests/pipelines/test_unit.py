"""The unit's driver: filters answer, ``keep_where`` counts; the executors' one failure policy."""
from __future__ import annotations

import threading

import pytest

from core.errors import BuildError
from core.stats import Stats
from pipelines.executors.local import run_units
from pipelines.unit import Unit, UnitRunner, keep_where
from sources.base import RawSample


def sample(code: str) -> RawSample:
    return RawSample("smiles", code, "s", f"s/{code}", "cc0")


def test_keep_where_counts_in_out_and_drops_with_their_records():
    stats = Stats()
    kept = keep_where("quality_code", [sample("CCO"), sample("C1CC"), sample("N")],
                      lambda s: True if s.code != "C1CC" else (False, "unclosed_ring", "ring 1 is never closed"), stats)
    assert [s.code for s in kept] == ["CCO", "N"]
    assert stats.table() == {"quality_code": {"smiles": {"in": 3, "out": 2, "dropped:unclosed_ring": 1}}}
    assert [(e.reason, e.error, e.code) for e in stats.excluded] == [("unclosed_ring", "ring 1 is never closed", "C1CC")]


def test_a_check_that_a_parser_refuses_drops_that_sample_only():
    """A bounded parser's ``Rejected``, or a parser's RecursionError/MemoryError on one crafted sample,
    is that sample's drop with a reason; the others go on (it stopped the whole build)."""
    import ast

    from core.bounded import parse_python
    from filters.quality import CodeCheck
    from pipelines.manifest import QualityConfig

    def crafted(s: RawSample):
        if s.code == "deep":
            ast.parse("-" * 15_000 + "1")  # MemoryError, as the quality check once let it through
        return True if s.code != "CC" else parse_python("f" + "()" * 7_000) and True

    stats = Stats()
    kept = keep_where("quality_code", [sample("CCO"), sample("deep"), sample("CC"), sample("N")], crafted, stats)
    assert [s.code for s in kept] == ["CCO", "N"]
    assert [(e.reason, e.code) for e in stats.excluded] == [("check_failed", "deep"), ("python_too_deep", "CC")]
    assert stats.excluded[0].error == "MemoryError while checking this sample"
    script = RawSample("python", "import matplotlib\n" + "-" * 15_000 + "1", "s", "s/1", "cc0")
    assert keep_where("quality_code", [script], CodeCheck(QualityConfig(max_code_chars=50_000)), Stats()) == [script]


def test_a_filter_must_give_a_reason():
    with pytest.raises(TypeError, match="True or \\(False, reason"):
        keep_where("quality_code", [sample("CCO")], lambda s: False, Stats())


def test_the_steps_are_named_and_run_in_order():
    assert UnitRunner.STEPS[:5] == ("harvest", "license_filter", "quality_code", "execution", "quality_image")
    runner = UnitRunner.__new__(UnitRunner)
    assert [name for name, _ in runner.steps()] == list(UnitRunner.STEPS)


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
