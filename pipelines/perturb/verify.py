"""Is a perturbation real? Its render must differ from the target -- but not beyond recognition
(``filters.distance.visual_distance`` within the manifest's bounds)."""
from __future__ import annotations

from filters.distance import visual_distance


def verdict(result, expected_error: str | None, target_png: bytes, min_distance: float,
            max_distance: float) -> tuple[bool, str, float | None]:
    """(accepted, reason, distance) for one rendered perturbation."""
    if expected_error is not None:
        if result.ok:
            return False, "rendered_anyway", None
        if result.error_kind != expected_error:
            return False, f"wrong_error_{result.error_kind}", None
        return True, "accepted", None
    if not result.ok:
        return False, f"failed_{result.error_kind}", None
    distance = visual_distance(target_png, result.png)
    if distance < min_distance:
        return False, "too_similar", distance
    if distance > max_distance:
        return False, "too_different", distance
    return True, "accepted", distance
