"""The perturbation stage: clean rows in, verified ``optimize`` rows out.

It runs inside each build unit, right after the execution filter, so it is parallel and
resumable like the rest of the unit; optimize rows whose clean parent is later dropped by the
global dedup (or held out for ``virl``) are dropped at the end.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from core.records import Record
from core.stats import Stats
from filters.execution import render_job

from .base import Perturbation, optimize_id, registry
from .verify import verdict


@dataclass
class Attempt:
    parent: Record
    applied: list[Perturbation]
    flawed: str

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.applied)

    @property
    def error(self) -> str | None:
        return self.applied[0].error if len(self.applied) == 1 else None


def weighted_order(items: list[Perturbation], weights: dict[str, float], rng: random.Random) -> list[Perturbation]:
    """A random order where heavier kinds tend to come first (Efraimidis–Spirakis keys)."""
    def weight(p: Perturbation) -> float:
        return weights.get(p.name, weights.get(p.kind, 1.0))

    keyed = [(rng.random() ** (1.0 / weight(p)), p.name, p) for p in items if weight(p) > 0]
    return [p for _, _, p in sorted(keyed, reverse=True)]


def draw_attempt(record: Record, rng: random.Random, cfg) -> Attempt | None:
    """Choose and apply 1..max_kinds visual kinds, or one error kind; ``None`` if nothing applies."""
    kinds = [p for p in registry(record.lang).values() if cfg.kinds is None or p.name in cfg.kinds or p.kind in cfg.kinds]
    errors = [p for p in kinds if p.error]
    visuals = [p for p in kinds if not p.error]
    if errors and (rng.random() < cfg.error_share or not visuals):
        for p in weighted_order(errors, cfg.weights, rng):
            flawed = p.apply(record.code, rng)
            if flawed is not None and flawed != record.code:
                return Attempt(record, [p], flawed)
        return None
    want = rng.randint(1, cfg.max_kinds)
    code, applied = record.code, []
    for p in weighted_order(visuals, cfg.weights, rng):
        changed = p.apply(code, rng)
        if changed is not None and changed != code:
            code, applied = changed, applied + [p]
            if len(applied) == want:
                break
    return Attempt(record, applied, code) if applied else None


def _why(result, reason: str, distance: float | None, cfg) -> str:
    """The one line that says why a perturbation was rejected."""
    if not result.ok:
        return f"{result.error_kind}: {result.first_line()}"
    if distance is not None:
        return f"visual distance {distance} outside [{cfg.min_distance}, {cfg.max_distance}]"
    return f"{reason}: the error perturbation rendered without an error"


def perturb_records(records: Sequence[Record], service, cfg, seed: int, stats: Stats) -> list[Record]:
    if cfg.per_row <= 0 or not records:
        return []
    attempts: list[Attempt] = []
    for record in records:
        rng = random.Random(f"perturb:{seed}:{record.id}")
        n = int(cfg.per_row) + (1 if rng.random() < cfg.per_row - int(cfg.per_row) else 0)
        for _ in range(n):
            stats.add("perturb", record.lang, "in")
            attempt = draw_attempt(record, rng, cfg)
            if attempt is None:
                stats.drop("perturb", record.lang, "not_applicable", record,
                           error="no perturbation of the configured kinds applies to this code")
            else:
                attempts.append(attempt)
    results = service.render_many([render_job(a.parent.lang, a.flawed, a.parent.meta) for a in attempts])
    out = []
    for attempt, result in zip(attempts, results):
        parent = attempt.parent
        stats.spend("perturb", parent.lang, result.cpu_s)
        accepted, reason, distance = verdict(result, attempt.error, parent.image, cfg.min_distance, cfg.max_distance)
        for p in attempt.applied:
            stats.add("perturb_kind", parent.lang, f"{p.kind}:{'accepted' if accepted else 'rejected'}")
        if distance is not None:
            stats.observe("perturb_distance", parent.lang, distance)
        if not accepted:
            stats.drop("perturb", parent.lang, reason, parent, error=_why(result, reason, distance, cfg),
                       image=result.png if result.ok else None, flawed_code=attempt.flawed, perturbation=attempt.name,
                       row_id=optimize_id(parent, attempt.flawed), distance=distance)
            stats.add("perturb_kind", parent.lang, f"{attempt.applied[0].kind}:why:{reason}")
            continue
        stats.add("perturb", parent.lang, "out")
        meta = {"parent": parent.id, "distance": distance, "width": parent.meta.get("width"), "height": parent.meta.get("height")}
        out.append(Record(id=optimize_id(parent, attempt.flawed), task="optimize",
                          lang=parent.lang, code=parent.code, image=parent.image, source=parent.source,
                          source_ref=parent.source_ref, license=parent.license, phash=parent.phash,
                          flawed_code=attempt.flawed, flawed_image=result.png if result.ok else None,
                          perturbation=attempt.name, meta=meta))
    return out
