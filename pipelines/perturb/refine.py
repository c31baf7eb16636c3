"""Refine rows of released corpora become optimize rows, verified like vinci's own perturbations.

VinciCoder's ``*_refine`` rows pair a draft (a fenced block in the prompt) with the corrected code
and the target picture. The corrected code is rendered by the execution filter like any row; here
the draft is rendered too and kept only if ``verify.verdict`` accepts the pair -- the same bounds
on visual distance that vinci's perturbations must meet.
"""
from __future__ import annotations

from typing import Sequence

from core.records import Record
from core.stats import Stats
from filters.execution import render_job
from filters.dedup import normalize_code
from sources.base import RawSample

from .base import optimize_id
from .verify import verdict

DRAFT_KEY = "flawed_code"
STAGE = "refine"


def take_drafts(samples: Sequence[RawSample]) -> dict[str, str]:
    """source_ref → draft code, removed from the samples' meta so clean rows do not carry it."""
    return {s.source_ref: s.meta.pop(DRAFT_KEY) for s in samples if DRAFT_KEY in s.meta}


def refine_records(records: Sequence[Record], drafts: dict[str, str], service, cfg, stats: Stats) -> list[Record]:
    pairs = [(r, drafts[r.source_ref]) for r in records if r.task == "generate" and r.source_ref in drafts]
    for parent, _ in pairs:
        stats.add(STAGE, parent.lang, "in")
    results = service.render_many([render_job(p.lang, draft, p.meta) for p, draft in pairs])
    out = []
    for (parent, draft), result in zip(pairs, results):
        stats.spend(STAGE, parent.lang, result.cpu_s)
        if normalize_code(parent.lang, draft) == normalize_code(parent.lang, parent.code):
            stats.drop(STAGE, parent.lang, "draft_is_the_answer", parent, error="the draft is the corrected code",
                       flawed_code=draft, perturbation="refine", row_id=optimize_id(parent, draft))
            continue
        accepted, reason, distance = verdict(result, None, parent.image, cfg.min_distance, cfg.max_distance)
        if distance is not None:
            stats.observe("refine_distance", parent.lang, distance)
        if not accepted:
            stats.drop(STAGE, parent.lang, reason, parent, error=result.first_line() if not result.ok else f"distance {distance}",
                       image=result.png, flawed_code=draft, perturbation="refine", row_id=optimize_id(parent, draft))
            continue
        stats.add(STAGE, parent.lang, "out")
        meta = {"parent": parent.id, "distance": distance, "width": parent.meta.get("width"), "height": parent.meta.get("height"),
                "origin": "source_refine"}
        out.append(Record(id=optimize_id(parent, draft), task="optimize",
                          lang=parent.lang, code=parent.code, image=parent.image, source=parent.source,
                          source_ref=parent.source_ref, license=parent.license, phash=parent.phash, flawed_code=draft,
                          flawed_image=result.png, perturbation="refine", meta=meta, source_image=parent.source_image))
    return out
