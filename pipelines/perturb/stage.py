"""The perturbation step: clean rows in, verified ``optimize`` rows out.

It runs in the build's second pass (``runner.PerturbRunner``), over the clean rows that end in
``sft``; it is a ``core.steps.Filter`` over the drawn attempts, so the base class counts them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from core.records import Record
from core.steps import Filter, StepResources
from core.verdicts import Drop
from filters.execution import render_job

from .base import Perturbation, optimize_id, optimize_row, registry
from .precheck import doomed
from .verify import verify


@dataclass
class Attempt:
    """Perturbations drawn for one clean row (none: nothing applied) and, once judged, their render."""

    parent: Record
    applied: list[Perturbation]
    flawed: str
    result: object = None
    distance: float | None = None

    @property
    def lang(self) -> str:
        return self.parent.lang

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


class Perturb(Filter):
    """The perturb pass's step: draw ``per_row`` attempts per clean row, render them, keep the verified ones
    as optimize rows. A draw where no configured kind applies is a ``not_applicable`` drop; an attempt whose
    verdict is certain without its render (``precheck``: ``comment_only``, ``duplicate_attempt``) is dropped
    unrendered, after every draw, so the rows' random streams are those of a build without the checks."""

    name = "perturb"
    resources = StepResources(renders=True)

    def __init__(self, cfg, seed: int) -> None:
        self.cfg, self.seed = cfg, seed

    @classmethod
    def from_manifest(cls, manifest) -> "Perturb":
        return cls(manifest.perturb, manifest.seed)

    def __call__(self, work) -> None:
        if self.cfg.per_row <= 0:
            work.items = []
            return
        draws = [a for record in work.items for a in self.draw(record)]
        draws.sort(key=lambda a: bool(a.applied))  # the not-applicable draws' records first, as they always were
        kept = self.keep(draws, work.stats)
        for a in draws:
            if a.result is not None:
                work.stats.spend(self.name, a.lang, a.result.cpu_s)
        work.items = [optimize_row(a.parent, a.flawed, a.result.png if a.result.ok else None, a.name, a.distance)
                      for a in kept]

    def draw(self, record: Record) -> list[Attempt]:
        """This row's attempts, from its own seeded draws (the same whichever rows share its unit)."""
        rng = random.Random(f"perturb:{self.seed}:{record.id}")
        n = int(self.cfg.per_row) + (1 if rng.random() < self.cfg.per_row - int(self.cfg.per_row) else 0)
        return [draw_attempt(record, rng, self.cfg) or Attempt(record, [], record.code) for _ in range(n)]

    def verdicts(self, draws: Sequence[Attempt]):
        """Attempts whose verdict is known without a render (``precheck``) are dropped unrendered."""
        known = doomed(draws)
        tried = [a for a, drop in zip(draws, known) if a.applied and drop is None]
        results = self.service.render_many([render_job(a.lang, a.flawed, a.parent.meta) for a in tried])
        for a, result in zip(tried, results):
            a.result = result
        for a, drop in zip(draws, known):
            if not a.applied:
                yield Drop("not_applicable", "no perturbation of the configured kinds applies to this code")
            elif drop is not None:
                yield Drop(drop.reason, drop.error, detail={"flawed_code": a.flawed, "perturbation": a.name,
                                                             "row_id": optimize_id(a.parent, a.flawed), "distance": None})
            else:
                verdict, a.distance = verify(a.parent, a.flawed, a.name, a.result, a.error, self.cfg)
                yield verdict

    def excluded(self, attempt: Attempt) -> Record:
        return attempt.parent

    def judged(self, attempt: Attempt, drop: Drop | None, stats) -> None:
        """Per-kind tallies (``perturb_kind``) and the distances, beside the stage's counts."""
        if not attempt.applied:
            return
        for p in attempt.applied:
            stats.add("perturb_kind", attempt.lang, f"{p.kind}:{'accepted' if drop is None else 'rejected'}")
        if attempt.distance is not None:
            stats.observe("perturb_distance", attempt.lang, attempt.distance)
        if drop is not None:
            stats.add("perturb_kind", attempt.lang, f"{attempt.applied[0].kind}:why:{drop.reason}")
