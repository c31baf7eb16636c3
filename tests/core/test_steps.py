"""The filter base class: the one place a step's ``in``, ``out`` and drops are counted and recorded."""
from __future__ import annotations

import pytest

from core.stats import Stats
from core.steps import Filter
from core.verdicts import Drop
from sources.base import RawSample


def sample(code: str) -> RawSample:
    return RawSample("smiles", code, "s", f"s/{code}", "cc0")


class Answers(Filter):
    """A filter whose verdict is a function of the sample (what a test wants it to answer)."""

    name = "quality_code"

    def __init__(self, check) -> None:
        self.check = check

    def verdict(self, item):
        return self.check(item)


def test_keep_counts_in_out_and_drops_with_their_records():
    stats = Stats()
    check = Answers(lambda s: True if s.code != "C1CC" else (False, "unclosed_ring", "ring 1 is never closed"))
    kept = check.keep([sample("CCO"), sample("C1CC"), sample("N")], stats)
    assert [s.code for s in kept] == ["CCO", "N"]
    assert stats.table() == {"quality_code": {"smiles": {"in": 3, "out": 2, "dropped:unclosed_ring": 1}}}
    assert [(e.reason, e.error, e.code) for e in stats.excluded] == [("unclosed_ring", "ring 1 is never closed", "C1CC")]


def test_a_drop_carries_its_render_and_details_to_the_record():
    stats = Stats()
    Answers(lambda s: Drop("too_similar", "distance 0.5", image=b"png", detail={"distance": 0.5})).keep([sample("C")], stats)
    [record] = stats.excluded
    assert (record.reason, record.error, record.image, record.meta) == ("too_similar", "distance 0.5", b"png", {"distance": 0.5})


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
    kept = Answers(crafted).keep([sample("CCO"), sample("deep"), sample("CC"), sample("N")], stats)
    assert [s.code for s in kept] == ["CCO", "N"]
    assert [(e.reason, e.code) for e in stats.excluded] == [("check_failed", "deep"), ("python_too_deep", "CC")]
    assert stats.excluded[0].error == "MemoryError while checking this sample"
    script = RawSample("python", "import matplotlib\n" + "-" * 15_000 + "1", "s", "s/1", "cc0")
    assert CodeCheck(QualityConfig(max_code_chars=50_000)).keep([script], Stats()) == [script]


def test_a_filter_must_give_a_reason():
    with pytest.raises(TypeError, match="True or \\(False, reason"):
        Answers(lambda s: False).keep([sample("CCO")], Stats())
