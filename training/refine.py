"""On-policy refine data: a model's flawed generations become ``optimize`` rows.

VinciCoder trains "refine" turns from code a model got wrong. Each kept row pairs the target image
and the reference code with the model's own code and its render (or, where it failed, no render and
an error kind), and is verified like a perturbation row: a render counts as flawed only when it is
visibly different from the target (the perturbation verifier's distance, at least
``min_distance``); a render error counts as flawed as is. Answers with no code to correct (no block,
wrong language, a rejected hack) and exact reproductions are skipped.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from .folders import FolderSpec, png_cell, write_folder

MIN_DISTANCE = 4.0


def refine_row(scored, model_id: str, min_distance: float = MIN_DISTANCE) -> tuple[dict | None, str]:
    """(optimize row, "kept") or (None, why it was skipped) for one scored generation."""
    from filters.dedup import normalize_code
    from filters.distance import visual_distance
    from core.records import record_id

    row, answer = scored.row, scored.answer
    if not answer.ok:
        return None, f"no_code:{answer.reason}"
    lang = row["lang"]
    if normalize_code(lang, answer.code) == normalize_code(lang, row["code"]):
        return None, "exact"
    target = png_cell(row["image"])["bytes"]
    meta = {"model": model_id, "visual": round(scored.parts["visual"], 6), "reference_id": row.get("id")}
    if scored.png is None or scored.parts.get("blank"):
        kind = (scored.error or "runtime").split(":")[0]
        perturbation, flawed_png = f"onpolicy.{kind}_error", None
    else:
        distance = visual_distance(target, scored.png)
        if distance < min_distance:
            return None, "too_similar"
        perturbation, flawed_png = "onpolicy.visual", scored.png
        meta["distance"] = distance
    return {
        "id": record_id(lang, normalize_code(lang, row["code"]), answer.code), "task": "optimize", "lang": lang,
        "code": row["code"], "image": target, "flawed_code": answer.code, "flawed_image": flawed_png,
        "perturbation": perturbation, "source": f"onpolicy:{model_id}", "source_ref": str(row.get("id") or row.get("source_ref")),
        "license": row.get("license") or "unknown", "phash": row.get("phash") or "", "meta": meta,
    }, "kept"


def write_failures(scored: list, out: str | Path, model_id: str, data: str, split: str,
                   min_distance: float = MIN_DISTANCE) -> Counter:
    """Write the kept rows as split ``sft`` of a build-compatible folder; returns kept/skipped counts."""
    rows, outcomes = [], Counter()
    seen = set()
    for s in scored:
        row, outcome = refine_row(s, model_id, min_distance)
        if row is not None and row["id"] in seen:
            row, outcome = None, "duplicate"
        outcomes[outcome] += 1
        if row is not None:
            seen.add(row["id"])
            rows.append(row)
    spec = FolderSpec(
        title=f"on-policy refine rows of {model_id}",
        description=("Optimize rows made from a model's own flawed generations: the target picture and the reference "
                     "code, with the model's code and its render (or no render where it failed to run). Renders were "
                     f"verified to differ from the target (visual distance ≥ {min_distance})."),
        provenance={"made_by": "vinci eval --keep-failures", "model": model_id, "data": str(data), "split": split,
                    "min_distance": min_distance, "outcomes": dict(outcomes),
                    "fingerprint": hashlib.sha256("".join(sorted(seen)).encode()).hexdigest()[:16]})
    write_folder(out, {"sft": rows}, spec)
    return outcomes
