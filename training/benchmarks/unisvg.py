"""UniSVG, image-to-SVG generation (type ``ISVGEN``), scored as its ``evaluation.py`` scores it.

Data (``--data``): UniSVG's test JSON (``test.json``, or a folder holding it) (a list of items with ``q_text``, ``image_path``, ``type``,
``a_text``), with the pictures under the folder the ``image_path`` values are relative to: the JSON's
own folder, or ``images/`` beside it. Only ``ISVGEN`` items are read; the id is ``image_path``.

Per answer (the official steps): the first ``<svg ...>...</svg>`` of the reply is taken (the
official script also repairs an unclosed one; here a reply must hold one fenced svg block, as every
vinci eval demands); it is rasterised at 336 x 336 on white; SSIM against the target over RGB with a
7-pixel window. (The official PSNR is left out: it is taken in uint8 arithmetic, where differences wrap
modulo 256, and an identical answer adds 0 dB.) An answer that does not rasterise is left out of the image
metrics' means and counts against the execution rate. LPIPS (AlexNet) and CLIP (ViT-L/14-336), and
the ISVGEN score built from them (0.2 SSIM + 0.2 (1 - LPIPS) + 0.6 CLIP), need model weights vinci
does not ship: not computed.

The answer is rasterised by cairosvg in the sandbox's SVG renderer, asked for 336 x 336 as the official
script asks. A render the sandbox calls blank (one flat colour) counts as not executed; officially it
would be scored (and score low).
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np

from .base import BenchmarkError, Column, Sample

SIZE = 336
EXACT = {"width": SIZE, "height": SIZE}  # render conventions: the answer rasterised to the scoring size, as UniSVG does


def rgb(png: bytes, size: int | None = SIZE) -> np.ndarray:
    from PIL import Image

    picture = Image.open(io.BytesIO(png)).convert("RGB")
    if size is not None and picture.size != (size, size):
        picture = picture.resize((size, size), Image.BILINEAR)
    return np.asarray(picture)


def ssim(target: np.ndarray, answer: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    if target.shape != answer.shape:
        return 0.0
    win = min(7, min(target.shape[0], target.shape[1]) // 2 * 2 + 1)
    return float(structural_similarity(target, answer, win_size=win, channel_axis=2))


class UniSVG:
    name: ClassVar[str] = "unisvg"
    title: ClassVar[str] = "UniSVG, image-to-SVG (ISVGEN)"
    lang: ClassVar[str] = "svg"
    columns: ClassVar[tuple[Column, ...]] = (Column("executed", "Exec.Rate"), Column("ssim", "SSIM"))
    not_computed: ClassVar[dict[str, str]] = {
        "LPIPS": "needs LPIPS AlexNet weights", "CLIP": "needs CLIP ViT-L/14-336 weights",
        "ISVGEN score": "0.2 SSIM + 0.2 (1 - LPIPS) + 0.6 CLIP: needs LPIPS and CLIP"}
    layout: ClassVar[str] = "UniSVG's test JSON (q_text, image_path, type, a_text) with the pictures"

    def load(self, data: str) -> list[Sample]:
        path = Path(data)
        if path.is_dir():
            if not (path / "test.json").is_file():
                raise BenchmarkError(f"{data}: no test.json (UniSVG's test set)")
            path = path / "test.json"
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchmarkError(f"cannot read {path}: {exc}") from None
        if not isinstance(items, list):
            raise BenchmarkError(f"{path}: expected a JSON list of items")
        roots = [path.parent.resolve(), (path.parent / "images").resolve()]
        samples = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not {"image_path", "type", "a_text"} <= set(item):
                raise BenchmarkError(f"{path}: item {i}: expected image_path, type and a_text")
            if item["type"] != "ISVGEN":
                continue
            picture = next((p for p in ((r / str(item["image_path"])).resolve() for r in roots)
                            if p.is_file() and any(r in p.parents for r in roots)), None)
            if picture is None:
                raise BenchmarkError(f"{path}: item {i}: picture {item['image_path']!r} not found beside the JSON or in images/")
            samples.append(Sample(str(item["image_path"]), picture.read_bytes(), str(item["a_text"])))
        if not samples:
            raise BenchmarkError(f"{path}: no ISVGEN items")
        return samples

    def score(self, samples: Sequence[Sample], codes: Sequence[str | None], service):
        todo = [i for i, c in enumerate(codes) if c is not None]
        renders = dict(zip(todo, service.render_many([("svg", codes[i], None, EXACT) for i in todo])))
        out = []
        for i, sample in enumerate(samples):
            result = renders.get(i)
            if result is None or not result.ok:
                error = "no acceptable answer" if result is None else f"{result.error_kind}: {result.first_line()}"
                out.append(({"executed": 0.0}, None, error))
                continue
            target, answer = rgb(sample.image), rgb(result.png)
            out.append(({"executed": 1.0, "ssim": ssim(target, answer)}, result.png, None))
        return out

    def summary(self, rows: list[dict]) -> dict[str, float]:
        """Execution rate over every sample; SSIM (x 100) over the rendered ones, as officially."""
        ran = [r for r in rows if r.get("executed")]
        return {"Exec.Rate": 100.0 * len(ran) / len(rows) if rows else 0.0,
                "SSIM": 100.0 * sum(r["ssim"] for r in ran) / len(ran) if ran else 0.0}
