"""How far apart two renders are, in one number that perturbations and refine rows are judged by.

Visual distance = pHash Hamming distance (bits of 64) + changed-pixel share (percent of pixels of
256×256 thumbnails whose colour moved by more than 24 of 255 in some channel), the share capped at
``PIXEL_CAP`` points. pHash sees layout and shape changes but is blind to hue and to small text;
the pixel share sees a recoloured bar or a retitled chart, and its cap keeps a recoloured or
slightly shifted picture "the same picture" -- only structural change (pHash) can push a pair past
``max_distance``. Both take a few milliseconds per pair; the manifest bounds the sum.
"""
from __future__ import annotations

import io

import numpy as np

PIXEL_CAP = 20.0


def flat_rgb(data: bytes):
    """A picture (PNG, JPEG ...) as RGB flattened on white, as a render is: a transparent dataset picture
    compares as it is seen, not with its transparent pixels turned black."""
    from PIL import Image

    from core.bounded import open_image

    image = open_image(data)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("RGB")


def phash_distance(a: bytes, b: bytes) -> int:
    """pHash Hamming distance (bits of 64) between two pictures: the build's ``source_phash_distance`` and
    ``benchmarks/fidelity.py``'s measure of how far vinci's render lies from a dataset's own picture."""
    import imagehash

    return int(imagehash.phash(flat_rgb(a)) - imagehash.phash(flat_rgb(b)))


def visual_distance(a_png: bytes, b_png: bytes) -> float:
    import imagehash
    from PIL import Image

    a = Image.open(io.BytesIO(a_png)).convert("RGB")
    b = Image.open(io.BytesIO(b_png)).convert("RGB")
    bits = imagehash.phash(a) - imagehash.phash(b)
    ta = np.asarray(a.resize((256, 256), Image.BILINEAR), dtype=np.int16)
    tb = np.asarray(b.resize((256, 256), Image.BILINEAR), dtype=np.int16)
    changed = float((np.abs(ta - tb).max(axis=2) > 24).mean() * 100)
    return round(float(bits) + min(changed, PIXEL_CAP), 2)
