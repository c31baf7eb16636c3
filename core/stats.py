"""Counters per stage, language and outcome; mergeable across units and executors.

Keys are typed (``Count(stage, lang, key)``, ``(metric, lang)``), never strings taken apart by
slicing; ``stats.json`` spells them ``stage|lang|key`` and ``metric|lang``, as it always has.
``drop`` is the one place a drop is counted, and, given the dropped thing, where its exclusion
record is kept: a new filter whose drops go through ``drop`` gets them written to ``DIR/excluded/``
with nothing else to do.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, NamedTuple

from .exclusions import Exclusion

DROPPED = "dropped:"


class Count(NamedTuple):
    stage: str
    lang: str
    key: str  # "in", "out", "dropped:<reason>", or a stage's own tally ("sft:generate" for "write")

    @property
    def reason(self) -> str | None:
        return self.key[len(DROPPED):] if self.key.startswith(DROPPED) else None

    def text(self) -> str:
        return f"{self.stage}|{self.lang}|{self.key}"

    @classmethod
    def parse(cls, text: str) -> "Count":
        return cls(*text.split("|", 2))


class Stats:
    def __init__(self) -> None:
        self.counts: Counter[Count] = Counter()
        self.timings: dict[str, float] = defaultdict(float)  # seconds, summed across units
        self.cpu: dict[tuple[str, str], float] = defaultdict(float)  # (step, lang) → CPU seconds, host and renderers
        self.gauges: dict[str, float] = {}                    # peaks, maxed across units
        self.values: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.licenses: Counter[str] = Counter()
        self.sources: Counter[tuple[int, str]] = Counter()  # (index in the manifest, "harvested" | "skipped:<reason>")
        self.excluded: list[Exclusion] = []

    def add(self, stage: str, lang: str, key: str, n: int = 1) -> None:
        self.counts[Count(stage, lang, key)] += n

    def drop(self, stage: str, lang: str, reason: str, what: Any = None, error: str = "", image: bytes | None = None,
             **detail: Any) -> None:
        """Count a drop; with ``what`` (a raw sample, record or ``RowAt``) also keep its exclusion record.

        ``error`` is the one-line cause (a renderer's first error line), ``image`` the render where one
        exists, ``detail`` goes to the record's ``meta`` (``flawed_code``/``perturbation``/``row_id``
        for perturbations).
        """
        self.add(stage, lang, DROPPED + reason)
        if what is not None:
            self.excluded.append(Exclusion.of(stage, reason, what, error=error, image=image, **detail))

    def source(self, index: int, key: str, n: int = 0) -> None:
        """Count for the manifest's source ``index``: rows ``harvested``, files ``skipped:<reason>``
        (a count of 0 still records that the source ran)."""
        self.sources[(index, key)] += n

    def source_counts(self, index: int) -> dict[str, int]:
        return {key: n for (i, key), n in sorted(self.sources.items()) if i == index}

    def count(self, stage: str, lang: str, key: str) -> int:
        return self.counts[Count(stage, lang, key)]

    def time(self, stage: str, seconds: float) -> None:
        self.timings[stage] += seconds

    def spend(self, step: str, lang: str, cpu_s: float) -> None:
        """CPU seconds a step spent on one language's rows (what the build's cost projection reads)."""
        self.cpu[(step, lang)] += cpu_s

    def spend_shared(self, step: str, items_per_lang: dict[str, int], cpu_s: float) -> None:
        """CPU a step spent on a mix of languages (its host thread's), shared by their item counts."""
        total = sum(items_per_lang.values())
        for lang, n in items_per_lang.items():
            self.spend(step, lang, cpu_s * n / total)

    def gauge(self, name: str, value: float) -> None:
        self.gauges[name] = max(value, self.gauges.get(name, value))

    def observe(self, metric: str, lang: str, value: float) -> None:
        self.values[(metric, lang)].append(value)

    def merge(self, other: "Stats") -> None:
        self.counts.update(other.counts)
        for k, v in other.timings.items():
            self.timings[k] += v
        for k, v in other.cpu.items():
            self.cpu[k] += v
        for k, v in other.gauges.items():
            self.gauge(k, v)
        for k, v in other.values.items():
            self.values[k].extend(v)
        self.licenses.update(other.licenses)
        for key, n in other.sources.items():
            self.sources[key] += n
        self.excluded.extend(other.excluded)

    def to_dict(self) -> dict[str, Any]:
        return {"counts": {c.text(): n for c, n in sorted(self.counts.items())}, "timings": dict(self.timings),
                "cpu_s": {f"{step}|{lang}": round(v, 4) for (step, lang), v in sorted(self.cpu.items())},
                "gauges": dict(self.gauges), "values": {f"{m}|{lang}": v for (m, lang), v in self.values.items()},
                "licenses": dict(sorted(self.licenses.items())),
                "sources": {f"{i}|{key}": n for (i, key), n in sorted(self.sources.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Stats":
        stats = cls()
        stats.counts.update({Count.parse(k): n for k, n in data.get("counts", {}).items()})
        stats.timings.update(data.get("timings", {}))
        for k, v in data.get("cpu_s", {}).items():
            step, _, lang = k.partition("|")
            stats.cpu[(step, lang)] += v
        stats.gauges.update(data.get("gauges", {}))
        for k, v in data.get("values", {}).items():
            metric, _, lang = k.partition("|")
            stats.values[(metric, lang)].extend(v)
        stats.licenses.update(data.get("licenses", {}))
        for k, n in data.get("sources", {}).items():
            index, _, key = k.partition("|")
            stats.sources[(int(index), key)] += n
        return stats

    def table(self) -> dict[str, dict[str, dict[str, int]]]:
        """stage → lang → {in, out, dropped:reason, ...}"""
        out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for c, n in self.counts.items():
            out[c.stage][c.lang][c.key] = n
        return {s: dict(v) for s, v in out.items()}

    def drops(self) -> Counter[tuple[str, str]]:
        """(stage, reason) → samples dropped, over every language."""
        out: Counter[tuple[str, str]] = Counter()
        for c, n in self.counts.items():
            if c.reason is not None:
                out[(c.stage, c.reason)] += n
        return out

    def top_drop_reasons(self, k: int = 8) -> list[tuple[str, int]]:
        return [(f"{stage}: {reason}", n) for (stage, reason), n in self.drops().most_common(k)]
