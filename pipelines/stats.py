"""Counters per stage, language and reason; mergeable across units and executors.

``drop`` is the one place a drop is counted, and, given the dropped thing, where its exclusion
record is kept: a new filter that calls ``stats.drop(stage, lang, reason, sample)`` gets its drops
written to ``DIR/excluded/`` with nothing else to do.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .excluded import Exclusion


class Stats:
    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.timings: dict[str, float] = defaultdict(float)
        self.values: dict[str, list[float]] = defaultdict(list)
        self.excluded: list[Exclusion] = []

    def add(self, stage: str, lang: str, key: str, n: int = 1) -> None:
        self.counts[f"{stage}|{lang}|{key}"] += n

    def drop(self, stage: str, lang: str, reason: str, what: Any = None, error: str = "", image: bytes | None = None,
             **detail: Any) -> None:
        """Count a drop; with ``what`` (a raw sample, record or ``RowAt``) also keep its exclusion record.

        ``error`` is the one-line cause (a renderer's first error line), ``image`` the render where one
        exists, ``detail`` goes to the record's ``meta`` (``flawed_code``/``perturbation`` for perturbations).
        """
        self.add(stage, lang, f"dropped:{reason}")
        if what is not None:
            self.excluded.append(Exclusion.of(stage, reason, what, error=error, image=image, **detail))

    def time(self, stage: str, seconds: float) -> None:
        self.timings[stage] += seconds

    def observe(self, name: str, value: float) -> None:
        self.values[name].append(value)

    def merge(self, other: "Stats") -> None:
        self.counts.update(other.counts)
        for k, v in other.timings.items():
            self.timings[k] += v
        for k, v in other.values.items():
            self.values[k].extend(v)
        self.excluded.extend(other.excluded)

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.counts.items())), "timings": dict(self.timings), "values": dict(self.values)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Stats":
        stats = cls()
        stats.counts.update(data.get("counts", {}))
        stats.timings.update(data.get("timings", {}))
        for k, v in data.get("values", {}).items():
            stats.values[k].extend(v)
        return stats

    def table(self) -> dict[str, dict[str, dict[str, int]]]:
        """stage → lang → {in, out, dropped:reason...}"""
        out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for key, n in self.counts.items():
            stage, lang, what = key.split("|", 2)
            out[stage][lang][what] = n
        return {s: dict(v) for s, v in out.items()}

    def top_drop_reasons(self, k: int = 8) -> list[tuple[str, int]]:
        reasons: Counter = Counter()
        for key, n in self.counts.items():
            stage, _, what = key.split("|", 2)
            if what.startswith("dropped:"):
                reasons[f"{stage}: {what[8:]}"] += n
        return reasons.most_common(k)
