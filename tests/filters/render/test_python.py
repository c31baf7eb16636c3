"""The Python renderer's own steps, in-process (its renders through the pool: ``test_renderers.py``)."""
from __future__ import annotations

import numpy as np
import pytest

from filters.render.python import flatten_on_white


def flattened_by_arithmetic(rgba: np.ndarray) -> bytes:
    alpha = rgba[..., 3:4].astype(np.uint16)
    return ((rgba[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha)) // 255).astype(np.uint8).tobytes()


@pytest.mark.parametrize("alpha", ["opaque", "one pixel at 254", "random", "transparent"])
def test_flattening_on_white_gives_the_arithmetic_bytes(alpha):
    """The opaque shortcut (PIL drops the band) and the general path give exactly what the formula gives."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (61, 83, 4), dtype=np.uint8)
    rgba[..., 3] = {"opaque": 255, "one pixel at 254": 255, "random": rgba[..., 3], "transparent": 0}[alpha]
    if alpha == "one pixel at 254":
        rgba[30, 40, 3] = 254
    picture = flatten_on_white(rgba)
    assert picture.mode == "RGB" and picture.size == (83, 61)
    assert picture.tobytes() == flattened_by_arithmetic(rgba)


def test_a_strided_canvas_view_is_flattened_as_a_copy_would_be():
    rgba = np.full((40, 50, 4), 255, dtype=np.uint8)
    rgba[..., 0] = np.arange(50, dtype=np.uint8)
    view = rgba[::2, ::3]
    assert flatten_on_white(view).tobytes() == flattened_by_arithmetic(np.ascontiguousarray(view))
