"""Perceptual hashes of renders: 64-bit DCT hashes (``imagehash.phash``) as hex, and as integers for
the near-duplicate search."""
from __future__ import annotations

import io

import numpy as np


def phash_of(image) -> str:
    """Hex 64-bit perceptual hash of a decoded PIL image."""
    import imagehash

    return str(imagehash.phash(image.convert("RGB")))


def phash_hex(png: bytes) -> str:
    from PIL import Image

    return phash_of(Image.open(io.BytesIO(png)))


def hex_to_u64(values: list[str]) -> np.ndarray:
    return np.array([int(v, 16) for v in values], dtype=np.uint64)
