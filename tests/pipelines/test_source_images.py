from __future__ import annotations

import io

from PIL import Image

from core.records import Record
from core.stats import Stats
from filters.dedup import phash_hex
from pipelines.source_images import METRIC, attach_source_images
from sources.base import RawSample


def png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_transparent_dataset_picture_is_compared_as_it_is_seen():
    """The dataset saved its chart with ``transparent=True``; vinci's render is the same chart on white."""
    drawn = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    for x in range(10, 30):
        for y in range(5, 60):
            drawn.putpixel((x, y), (200, 30, 30, 255))
    render = Image.alpha_composite(Image.new("RGBA", drawn.size, "white"), drawn).convert("RGB")
    record = Record("r", "generate", "python", "code", png(render), "hub:x", "x#0", "mit", phash=phash_hex(png(render)))
    stats = Stats()
    attach_source_images([record], [RawSample("python", "code", "hub:x", "x#0", "mit", image=png(drawn))], stats)
    assert record.meta[METRIC] == 0 and stats.values[(METRIC, "python")] == [0]
