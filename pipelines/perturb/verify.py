"""Is a perturbation real? Its render must differ from the target -- but not beyond recognition
(``filters.distance.visual_distance`` within the manifest's bounds) -- or, for an error perturbation,
fail with the error kind it declares. vinci's own perturbations and a dataset's refine drafts are
judged here alike, and both go through the filter base class's counting."""
from __future__ import annotations

from core.records import Record
from core.verdicts import KEEP, Drop, Verdict
from filters.distance import visual_distance

from .base import optimize_id


def rejection(result, expected_error: str | None, target_png: bytes, min_distance: float,
              max_distance: float) -> tuple[str | None, float | None]:
    """(why the flawed render is rejected, or ``None``; its visual distance where one was measured)."""
    if expected_error is not None:
        if result.ok:
            return "rendered_anyway", None
        if result.error_kind != expected_error:
            return f"wrong_error_{result.error_kind}", None
        return None, None
    if not result.ok:
        return f"failed_{result.error_kind}", None
    distance = visual_distance(target_png, result.png)
    if distance < min_distance:
        return "too_similar", distance
    if distance > max_distance:
        return "too_different", distance
    return None, distance


def verify(parent: Record, flawed_code: str, perturbation: str, result, expected_error: str | None,
           cfg) -> tuple[Verdict, float | None]:
    """The verdict on one rendered perturbation of ``parent`` and its visual distance. A drop carries
    what the exclusion record shows: the flawed code and render, the optimize row's id, the distance."""
    reason, distance = rejection(result, expected_error, parent.image, cfg.min_distance, cfg.max_distance)
    if reason is None:
        return KEEP, distance
    return Drop(reason, why(result, reason, distance, cfg), image=result.png if result.ok else None,
                detail={"flawed_code": flawed_code, "perturbation": perturbation,
                        "row_id": optimize_id(parent, flawed_code), "distance": distance}), distance


def why(result, reason: str, distance: float | None, cfg) -> str:
    """The one line that says why a perturbation was rejected."""
    if not result.ok:
        return f"{result.error_kind}: {result.first_line()}"
    if distance is not None:
        return f"visual distance {distance} outside [{cfg.min_distance}, {cfg.max_distance}]"
    return f"{reason}: the error perturbation rendered without an error"
