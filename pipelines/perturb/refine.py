"""Refine rows of released corpora become optimize rows, verified like vinci's own perturbations.

VinciCoder's ``*_refine`` rows pair a draft (a fenced block in the prompt) with the corrected code
and the target picture. The corrected code is rendered by the execution filter like any row; here
the draft is rendered too and kept only if ``verify.verify`` accepts the pair -- the same bounds
on visual distance that vinci's perturbations must meet, counted by the same filter base class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from core.records import Record
from core.steps import Filter, StepResources
from core.verdicts import Drop, Verdict
from filters.dedup import normalize_code
from filters.execution import render_job
from sources.base import RawSample

from .base import optimize_id, optimize_row
from .verify import verify

DRAFT_KEY = "flawed_code"
PERTURBATION = "refine"


def take_drafts(samples: Sequence[RawSample]) -> dict[str, str]:
    """source_ref → draft code, removed from the samples' meta so clean rows do not carry it."""
    return {s.source_ref: s.meta.pop(DRAFT_KEY) for s in samples if DRAFT_KEY in s.meta}


@dataclass
class Draft:
    """A clean row and the draft its dataset paired it with; ``result``/``distance`` once judged."""

    parent: Record
    code: str
    result: object = None
    distance: float | None = None

    @property
    def lang(self) -> str:
        return self.parent.lang

    def is_the_answer(self) -> bool:
        return normalize_code(self.lang, self.code) == normalize_code(self.lang, self.parent.code)


class Refine(Filter):
    """The unit's ``refine`` step: each clean row with a draft gets an optimize row if its draft verifies."""

    name = "refine"
    resources = StepResources(renders=True)

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    @classmethod
    def from_manifest(cls, manifest) -> "Refine":
        return cls(manifest.perturb)

    def __call__(self, work) -> None:
        drafts = [Draft(r, work.drafts[r.source_ref]) for r in work.clean() if r.source_ref in work.drafts]
        kept = self.keep(drafts, work.stats)
        for d in drafts:
            if d.result is not None:
                work.stats.spend(self.name, d.lang, d.result.cpu_s)
        work.items += [optimize_row(d.parent, d.code, d.result.png, PERTURBATION, d.distance,
                                    source_image=d.parent.source_image, origin="source_refine") for d in kept]

    def verdicts(self, drafts: Sequence[Draft]):
        rendered = [d for d in drafts if not d.is_the_answer()]
        for d, result in zip(rendered, self.service.render_many([render_job(d.lang, d.code, d.parent.meta) for d in rendered])):
            d.result = result
        for d in drafts:
            yield self.judge(d)

    def judge(self, draft: Draft) -> Verdict:
        if draft.result is None:
            return Drop("draft_is_the_answer", "the draft is the corrected code",
                        detail={"flawed_code": draft.code, "perturbation": PERTURBATION,
                                "row_id": optimize_id(draft.parent, draft.code)})
        verdict, draft.distance = verify(draft.parent, draft.code, PERTURBATION, draft.result, None, self.cfg)
        return verdict

    def excluded(self, draft: Draft) -> Record:
        return draft.parent

    def judged(self, draft: Draft, drop: Drop | None, stats) -> None:
        if draft.distance is not None:
            stats.observe("refine_distance", draft.lang, draft.distance)
