"""Design2Code's CLIP score: cosine similarity of two screenshots' CLIP image embeddings, with every
detected text box inpainted away first (OpenCV Telea, radius 3) and each picture squeezed to a square
of its shorter side (LANCZOS), as ``visual_score.py`` does with OpenAI's ViT-B/32.

The encoder is a ``transformers`` ``CLIPModel`` by id or path (``openai/clip-vit-base-patch32`` is the
same ViT-B/32 weights the evaluator loads with the ``clip`` package); its image processor resizes to
224 bicubic and normalises as ``clip``'s preprocess does. ``unavailable()`` says why the score cannot
be computed on this machine (no OpenCV for the inpainting, no weights), so the caller can mark it
not computed instead of inventing a value.
"""
from __future__ import annotations

import io

import numpy as np

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
INPAINT_RADIUS = 3


def masked_square(png: bytes, boxes: list[tuple[float, float, float, float]]):
    """The screenshot with its text boxes (fractions of its size) inpainted, squeezed to a square."""
    from PIL import Image

    picture = Image.open(io.BytesIO(png)).convert("RGB")
    if boxes:
        import cv2

        pixels = np.asarray(picture)[:, :, ::-1].copy()
        height, width = pixels.shape[:2]
        mask = np.zeros((height, width), dtype=np.uint8)
        for x, y, w, h in boxes:
            left, top = int(x * width), int(y * height)
            mask[top:top + int(h * height), left:left + int(w * width)] = 255
        picture = Image.fromarray(cv2.inpaint(pixels, mask, INPAINT_RADIUS, cv2.INPAINT_TELEA)[:, :, ::-1].copy())
    side = min(picture.size)
    return picture.resize((side, side), Image.LANCZOS)


class ClipScorer:
    """One CLIP image encoder, loaded on first use."""

    def __init__(self, model: str = DEFAULT_MODEL):
        self.model_id = model
        self._model = self._processor = None
        self._failure: str | None = None

    def unavailable(self) -> str | None:
        try:
            import cv2  # noqa: F401
        except ImportError:
            return "needs OpenCV (opencv-python-headless) for the evaluator's Telea inpainting of text boxes"
        return self._load()

    def _load(self) -> str | None:
        if self._model is None and self._failure is None:
            try:
                from transformers import CLIPImageProcessor, CLIPModel

                self._processor = CLIPImageProcessor.from_pretrained(self.model_id)
                self._model = CLIPModel.from_pretrained(self.model_id).eval()
            except (OSError, ValueError) as exc:
                self._failure = f"cannot load CLIP model {self.model_id!r}: {str(exc).splitlines()[0][:200]}"
        return self._failure

    def embed(self, pictures) -> np.ndarray:
        import torch

        if self._load():
            raise RuntimeError(self._failure)
        inputs = self._processor(images=list(pictures), return_tensors="pt")
        with torch.no_grad():
            features = self._model.get_image_features(pixel_values=inputs["pixel_values"])
        if not isinstance(features, torch.Tensor):  # newer transformers return a model output
            features = features.pooler_output
        features = features / features.norm(dim=-1, keepdim=True)
        return features.double().numpy()

    def similarity(self, first, second) -> float:
        a, b = self.embed([first, second])
        return float(a @ b)
