"""Typed counters: merging units, the stats.json spelling, drops and their exclusion records."""
from __future__ import annotations

from core.stats import Count, Stats
from sources.base import RawSample


def test_counts_merge_and_round_trip_through_their_json_spelling():
    a, b = Stats(), Stats()
    a.add("execution", "svg", "in", 3)
    a.drop("execution", "svg", "syntax", RawSample("svg", "<svg", "s", "s/1", "mit"), error="bad tag")
    b.add("execution", "svg", "in", 2)
    a.observe("render_ms", "svg", 12.5)
    a.gauge("peak_rss_mb", 300)
    b.gauge("peak_rss_mb", 200)
    b.time("execution", 1.5)
    a.licenses["mit"] += 1
    a.merge(b)
    assert a.counts[Count("execution", "svg", "in")] == 5 and a.gauges["peak_rss_mb"] == 300
    assert a.drops() == {("execution", "syntax"): 1} and a.top_drop_reasons() == [("execution: syntax", 1)]
    data = a.to_dict()
    assert data["counts"] == {"execution|svg|dropped:syntax": 1, "execution|svg|in": 5}
    assert data["values"] == {"render_ms|svg": [12.5]}
    back = Stats.from_dict(data)
    assert back.counts == a.counts and back.values == a.values and back.gauges == a.gauges and back.licenses == a.licenses
    assert back.table() == {"execution": {"svg": {"in": 5, "dropped:syntax": 1}}}
    [exclusion] = a.excluded
    assert (exclusion.stage, exclusion.reason, exclusion.error, exclusion.source_ref) == ("execution", "syntax", "bad tag", "s/1")


def test_a_key_with_bars_in_its_reason_survives():
    assert Count.parse(Count("write", "svg", "sft:generate|x").text()) == Count("write", "svg", "sft:generate|x")
