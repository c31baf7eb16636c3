"""Design2Code's CLIP score: cosine similarity of two screenshots' CLIP image embeddings, with every
detected text box inpainted away first (OpenCV Telea, radius 3) and each picture squeezed to a square
of its shorter side (LANCZOS), as ``visual_score.py`` does with OpenAI's ViT-B/32.

The encoder is a ``transformers`` ``CLIPModel`` by id or path (``openai/clip-vit-base-patch32`` is the
same ViT-B/32 weights the evaluator loads with the ``clip`` package); its image processor resizes to
224 bicubic and normalises as ``clip``'s preprocess does. ``unavailable()`` says why the score cannot
be computed on this machine (no OpenCV for the inpainting, no weights), so the caller can mark it
not computed instead of inventing a value; without a network that is known in one quick connection
attempt, not after the Hub client's retries.
"""
from __future__ import annotations

import io
import os

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


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hub answers a TCP connection: one quick try, where a download from a machine without a
    network would spend ~50 s in huggingface_hub's retries before failing."""
    import socket
    from urllib.parse import urlsplit

    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        socket.create_connection((endpoint.hostname or "", endpoint.port or 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def load_clip(model_id: str):
    """The image processor and model from a folder or the local Hub cache; downloaded only where the Hub
    is online (``HF_HUB_OFFLINE`` unset) and answers."""
    from transformers import CLIPImageProcessor, CLIPModel

    def load(local_only: bool):
        processor = CLIPImageProcessor.from_pretrained(model_id, local_files_only=local_only)
        return processor, CLIPModel.from_pretrained(model_id, local_files_only=local_only).eval()

    try:
        return load(True)
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
        if offline or os.path.isdir(model_id):
            raise
        if not hub_reachable():
            raise OSError(f"not in the local Hub cache and the Hub cannot be reached ({str(exc).splitlines()[0][:120]})") from None
        return load(False)


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
                self._processor, self._model = load_clip(self.model_id)
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
