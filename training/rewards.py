"""ViRL rewards as plain callables over dataset columns (trl's reward-function contract).

* ``format`` (language alignment): the completion must be one fenced block in the target
  language with prose around it (``training.answers``: judged whole, so known hacks earn 0);
  else 0, and no visual scoring.
* ``visual`` (coarse-to-fine, as VinciCoder defines it): the render of the generated code is
  resized to the target's size; both are cut into 448×448 tiles (1-12, grid by closest aspect
  ratio) plus, when there is more than one tile, a 448×448 thumbnail (as the release does);
  DINOv2 embeds every crop (CLS token: ``cls: release`` takes it from the last block before the
  final layernorm, ``hidden_states[-1][:, 0]``, as VinciCoder's released reward does;
  ``cls: pooler`` after it); each crop scores (cos + 1) / 2; the reward is the weighted mean
  (default: the plain mean over all crops). Failing, timed-out, blank or near-uniform renders
  score 0. ``encoder: pixel`` scores the same crops on pixels instead, without weights
  (``training.pixel_similarity``: multi-scale structure × colour where either picture has ink).

Batched: one render batch through the sandboxed pool, target embeddings cached per image, one
encoder forward pass for all crops of a batch.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections import OrderedDict
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from core.validation import Strict

from filters.quality import MAX_DOMINANT_SHARE, MIN_STD, blank_reason

from .answers import completion_text, extract_code

__all__ = ["CLS_CHOICES", "DinoEncoder", "RewardConfig", "VisualCodeReward", "completion_text", "crops",
           "extract_code", "tile_grid"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CLS_CHOICES = ("release", "pooler")


class RewardConfig(Strict):
    """The reward's settings (a ViRL config's ``reward:`` section, or ``vinci reward``'s options)."""

    encoder: str = "facebook/dinov2-large"
    cls: str = "release"
    tile: int = Field(448, gt=0)
    max_tiles: int = Field(12, ge=1)
    coarse_weight: float = Field(1.0, ge=0)
    fine_weight: float = Field(1.0, ge=0)
    visual_weight: float = Field(0.9, ge=0)
    format_weight: float = Field(0.1, ge=0)
    timeout_s: float = Field(10.0, gt=0)
    workers: int = Field(2, ge=1)
    encoder_batch: int = Field(32, ge=1)
    cache_size: int = Field(4096, ge=0)
    device: str | None = None
    min_std: float = Field(MIN_STD, ge=0)
    max_dominant_share: float = Field(MAX_DOMINANT_SHARE, gt=0, le=1)

    @field_validator("cls")
    @classmethod
    def _known_cls(cls, value: str) -> str:
        if value not in CLS_CHOICES:
            raise ValueError(f"reward cls must be one of {list(CLS_CHOICES)}, not {value!r}")
        return value


def tile_grid(width: int, height: int, max_tiles: int = 12) -> tuple[int, int]:
    """(columns, rows) with 1 ≤ columns·rows ≤ max_tiles whose aspect ratio is closest to the image's;
    ties go to the larger grid when the image is big enough to fill it."""
    aspect = width / height
    best, best_key = (1, 1), None
    for cols in range(1, max_tiles + 1):
        for rows in range(1, max_tiles // cols + 1):
            key = (abs(np.log(aspect) - np.log(cols / rows)), -(cols * rows if width * height > 0.5 * 448 * 448 * cols * rows else 0))
            if best_key is None or key < best_key:
                best, best_key = (cols, rows), key
    return best


def crops(image, tile: int = 448, max_tiles: int = 12, grid: tuple[int, int] | None = None, size=None, device="cpu"):
    """[thumbnail, tile 1, …, tile n] of an RGB PIL image as a float tensor (n+1, 3, tile, tile) in [0, 1];
    one tile alone (no thumbnail) when the grid is 1×1, as the release does.

    Resizing and tiling run on ``device`` (the GPU in real runs): on a CPU they cost more than the
    encoder itself. ``size`` first resizes the image to the target's size (a generated render)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy()).to(device)
    x = x.permute(2, 0, 1).unsqueeze(0).float() / 255.0
    if size is not None and (x.shape[-1], x.shape[-2]) != tuple(size):
        x = F.interpolate(x, size=(size[1], size[0]), mode="bicubic", antialias=True, align_corners=False)
    height, width = x.shape[-2:]
    cols, rows = grid or tile_grid(width, height, max_tiles)
    big = F.interpolate(x, size=(rows * tile, cols * tile), mode="bicubic", antialias=True, align_corners=False)
    tiles = big.unfold(2, tile, tile).unfold(3, tile, tile)
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(rows * cols, 3, tile, tile)
    if rows * cols == 1:
        return tiles.clamp_(0, 1)
    thumb = F.interpolate(x, size=(tile, tile), mode="bicubic", antialias=True, align_corners=False)
    return torch.cat([thumb, tiles]).clamp_(0, 1)


class DinoEncoder:
    """DINOv2 CLS embeddings; ``path_or_id`` is a Hub id, a folder saved with ``save_pretrained`` or ``tiny:dinov2``.

    ``cls="release"`` reads the CLS token where VinciCoder's released reward does, at the output of
    the last block before the final layernorm (a pre-hook on ``layernorm``: the same value as
    ``hidden_states[-1][:, 0]`` without keeping every layer's states); ``cls="pooler"`` after it."""

    def __init__(self, path_or_id: str, device: str | None = None, model=None, cls: str = "release"):
        import torch

        from .encoders import load_encoder_model

        if cls not in CLS_CHOICES:
            raise ValueError(f"cls must be one of {list(CLS_CHOICES)}, not {cls!r}")
        self.torch = torch
        self.cls = cls
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = (model if model is not None else load_encoder_model(path_or_id)).to(self.device).eval()

    def _cls_tokens(self, chunk):
        if self.cls == "pooler":
            result = self.model(pixel_values=chunk)
            pooled = getattr(result, "pooler_output", None)
            return pooled if pooled is not None else result.last_hidden_state[:, 0]
        norm = getattr(self.model, "layernorm", None)
        if norm is None:
            return self.model(pixel_values=chunk, output_hidden_states=True).hidden_states[-1][:, 0]
        seen = []
        handle = norm.register_forward_pre_hook(lambda module, args: seen.append(args[0][:, 0]))
        try:
            self.model(pixel_values=chunk)
        finally:
            handle.remove()
        return seen[-1]

    def similarity(self, render, target) -> np.ndarray:
        """(cos + 1) / 2 per crop pair of L2-normalised embeddings."""
        return ((render * target).sum(-1).numpy() + 1) / 2

    def embed(self, pixels, batch: int = 32):
        """L2-normalised CLS embeddings of crops ``(N, 3, H, W)`` in [0, 1]; one forward pass per ``batch``."""
        torch = self.torch
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        dtype = next(self.model.parameters()).dtype
        out = []
        for i in range(0, len(pixels), batch):
            chunk = ((pixels[i:i + batch].to(self.device) - mean) / std).to(dtype)
            with torch.inference_mode():
                cls = self._cls_tokens(chunk)
            out.append(torch.nn.functional.normalize(cls.float(), dim=-1).cpu())
        return torch.cat(out) if out else torch.zeros(0)


class VisualCodeReward:
    """The ViRL reward. ``visual`` and ``format`` are trl reward functions (weights 0.9 / 0.1)."""

    def __init__(self, config: RewardConfig | None = None, service=None, encoder=None):
        self.config = config or RewardConfig()
        self._service = service
        self._own_service = service is None
        self._encoder = encoder
        self._targets: OrderedDict[str, Any] = OrderedDict()

    @property
    def service(self):
        if self._service is None:
            from filters.render import RenderService

            self._service = RenderService(workers=self.config.workers, timeout_s=self.config.timeout_s)
        return self._service

    @property
    def encoder(self):
        """``DinoEncoder`` or ``PixelEncoder`` (``encoder: pixel``): both ``embed`` crops and score ``similarity``."""
        if self._encoder is None:
            from .pixel_similarity import PIXEL, PixelEncoder

            if self.config.encoder == PIXEL:
                self._encoder = PixelEncoder(self.config.device)
            else:
                self._encoder = DinoEncoder(self.config.encoder, self.config.device, cls=self.config.cls)
        return self._encoder

    def close(self) -> None:
        if self._own_service and self._service is not None:
            self._service.close()
            self._service = None

    def abort(self) -> None:
        """Stop the renderers now (Ctrl-C): renders in flight fail, nothing waits for them."""
        if self._own_service and self._service is not None:
            self._service.abort()
            self._service = None

    def format(self, prompts=None, completions=(), lang=(), **kwargs) -> list[float]:
        scores = [1.0 if extract_code(c, l) is not None else 0.0 for c, l in zip(completions, lang)]
        _log(kwargs, "format", lang, scores)
        return scores

    def visual(self, prompts=None, completions=(), lang=(), image=(), render=(), **kwargs) -> list[float]:
        """``render``: each prompt's render conventions as JSON text (its row's, ``training.data``): an answer is
        drawn the way its target was."""
        conventions = [json.loads(r) if r else None for r in render] if render else None
        parts = self.score(list(completions), list(lang), list(image), conventions)
        _log(kwargs, "visual", lang, [p["visual"] for p in parts])
        _log(kwargs, "executed", lang, [p["executed"] for p in parts])
        return [p["visual"] for p in parts]

    def score(self, completions: list, langs: list[str], targets: list,
              conventions: list[dict | None] | None = None) -> list[dict[str, float]]:
        """Every component for a batch: format, executed, blank, coarse, fine, visual, total."""
        codes = [extract_code(c, l) for c, l in zip(completions, langs)]
        todo = [i for i, code in enumerate(codes) if code is not None]
        pngs: list[bytes | None] = [None] * len(codes)
        conventions = conventions or [None] * len(codes)
        jobs = [(langs[i], codes[i], None, conventions[i]) for i in todo]
        for i, result in zip(todo, self.service.render_many(jobs)):
            pngs[i] = result.png if result.ok else None
        return self.score_rendered(pngs, targets, [code is not None for code in codes])

    def score_rendered(self, pngs: list[bytes | None], targets: list, formats: list[bool] | None = None) -> list[dict[str, float]]:
        """Score renders (``None`` = failed) against targets: one encoder pass, cached target crops."""
        import torch
        from PIL import Image

        from training.data import as_image

        cfg = self.config
        device = self.encoder.device
        formats = formats if formats is not None else [True] * len(pngs)
        targets = [as_image(t) for t in targets]
        keys = [_image_key(t) for t in targets]
        rendered: dict[int, Any] = {}
        blank: set[int] = set()
        for i, png in enumerate(pngs):
            if png is not None and formats[i]:
                image = Image.open(io.BytesIO(png)).convert("RGB")
                if blank_reason(image, cfg.min_std, cfg.max_dominant_share):
                    blank.add(i)
                    continue
                grid = tile_grid(*targets[i].size, cfg.max_tiles)
                rendered[i] = crops(image, cfg.tile, cfg.max_tiles, grid, size=targets[i].size, device=device)
        missing = [k for k in dict.fromkeys(keys[i] for i in rendered) if k not in self._targets]
        target_crops = {k: crops(targets[keys.index(k)], cfg.tile, cfg.max_tiles, device=device) for k in missing}
        parts_list = [target_crops[k] for k in missing] + [rendered[i] for i in rendered]
        embeddings = self.encoder.embed(torch.cat(parts_list), cfg.encoder_batch) if parts_list else None
        offset = 0
        for k in missing:
            n = len(target_crops[k])
            self._remember(k, embeddings[offset:offset + n])
            offset += n
        out = []
        for i in range(len(pngs)):
            fmt = 1.0 if formats[i] else 0.0
            parts = {"format": fmt, "executed": 0.0, "blank": float(i in blank), "coarse": 0.0, "fine": 0.0, "visual": 0.0}
            if i in rendered:
                n = len(rendered[i])
                mine = embeddings[offset:offset + n]
                offset += n
                sims = self.encoder.similarity(mine, self._targets[keys[i]])
                parts.update(executed=1.0, **self._combine(sims))
            parts["total"] = cfg.visual_weight * parts["visual"] + cfg.format_weight * fmt
            out.append(parts)
        return out

    def _combine(self, sims) -> dict[str, float]:
        """Per-crop similarities → coarse, fine, visual; a lone tile is both coarse and fine."""
        cfg = self.config
        if len(sims) == 1:
            return {"coarse": float(sims[0]), "fine": float(sims[0]), "visual": float(sims[0])}
        visual = (cfg.coarse_weight * sims[0] + cfg.fine_weight * sims[1:].sum()) / (cfg.coarse_weight + cfg.fine_weight * (len(sims) - 1))
        return {"coarse": float(sims[0]), "fine": float(sims[1:].mean()), "visual": float(visual)}

    def _remember(self, key: str, value) -> None:
        self._targets[key] = value
        while len(self._targets) > self.config.cache_size:
            self._targets.popitem(last=False)


def _image_key(image) -> str:
    return hashlib.sha1(image.tobytes() + repr(image.size).encode()).hexdigest()


def _log(kwargs: dict, name: str, langs, values) -> None:
    """Per-language means through trl's ``log_metric`` hook, when trl provides it."""
    log_metric = kwargs.get("log_metric")
    if log_metric is None:
        return
    by: dict[str, list[float]] = {}
    for lang, v in zip(langs, values):
        by.setdefault(lang, []).append(v)
    for lang, vs in by.items():
        log_metric(f"reward/{name}/{lang}", float(np.mean(vs)))
