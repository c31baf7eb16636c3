"""ViRL rewards as plain callables over dataset columns (trl's reward-function contract).

* ``format`` (language alignment): the completion's last fenced block must carry the target
  language; else 0, and no visual scoring.
* ``visual`` (coarse-to-fine, as VinciCoder defines it): the render of the generated code is
  resized to the target's size; both are cut into 448×448 tiles (1-12, grid by closest aspect
  ratio) plus a 448×448 thumbnail; DINOv2 embeds every crop (CLS token); each crop scores
  (cos + 1) / 2; the reward is the weighted mean (default: the plain mean over all crops).
  Failing, timed-out or blank renders score 0.

Batched: one render batch through the sandboxed pool, target embeddings cached per image, one
encoder forward pass for all crops of a batch.
"""
from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sources.hub import last_fenced_block

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass
class RewardConfig:
    encoder: str = "facebook/dinov2-large"
    tile: int = 448
    max_tiles: int = 12
    coarse_weight: float = 1.0
    fine_weight: float = 1.0
    visual_weight: float = 0.9
    format_weight: float = 0.1
    timeout_s: float = 10.0
    workers: int = 2
    encoder_batch: int = 32
    cache_size: int = 4096
    device: str | None = None


def completion_text(completion: Any) -> str:
    """trl passes plain strings or conversational turns ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    parts = []
    for turn in completion:
        content = turn.get("content", "")
        parts.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content if isinstance(p, dict)))
    return "\n".join(parts)


def extract_code(completion: Any, lang: str) -> str | None:
    """The last fenced block if it is in ``lang``; ``None`` if missing or in another language."""
    fence_lang, code = last_fenced_block(completion_text(completion))
    return code if code is not None and fence_lang == lang else None


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


def crops(image, tile: int = 448, max_tiles: int = 12, grid: tuple[int, int] | None = None) -> list:
    """[thumbnail, tile 1, …, tile n] of an RGB PIL image."""
    from PIL import Image

    cols, rows = grid or tile_grid(*image.size, max_tiles)
    thumb = image.resize((tile, tile), Image.BICUBIC)
    big = image.resize((cols * tile, rows * tile), Image.BICUBIC)
    tiles = [big.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)) for r in range(rows) for c in range(cols)]
    return [thumb, *tiles]


class DinoEncoder:
    """DINOv2 CLS embeddings; ``path_or_id`` is a Hub id or a folder saved with ``save_pretrained``."""

    def __init__(self, path_or_id: str, device: str | None = None, model=None):
        import torch
        from transformers import AutoModel

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = (model or AutoModel.from_pretrained(path_or_id)).to(self.device).eval()

    def embed(self, images: Sequence, batch: int = 32):
        """L2-normalised CLS embeddings, one row per image (one forward pass per ``batch`` crops)."""
        torch = self.torch
        out = []
        for i in range(0, len(images), batch):
            arr = np.stack([(np.asarray(im, dtype=np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD for im in images[i:i + batch]])
            pixels = torch.from_numpy(arr).permute(0, 3, 1, 2).to(self.device, dtype=next(self.model.parameters()).dtype)
            with torch.inference_mode():
                result = self.model(pixel_values=pixels)
            cls = result.pooler_output if getattr(result, "pooler_output", None) is not None else result.last_hidden_state[:, 0]
            out.append(torch.nn.functional.normalize(cls.float(), dim=-1).cpu())
        return torch.cat(out) if out else torch.zeros(0)


class VisualCodeReward:
    """The ViRL reward. ``visual`` and ``format`` are trl reward functions (weights 0.9 / 0.1)."""

    def __init__(self, config: RewardConfig | None = None, service=None, encoder: DinoEncoder | None = None):
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
    def encoder(self) -> DinoEncoder:
        if self._encoder is None:
            self._encoder = DinoEncoder(self.config.encoder, self.config.device)
        return self._encoder

    def close(self) -> None:
        if self._own_service and self._service is not None:
            self._service.close()
            self._service = None

    def format(self, prompts=None, completions=(), lang=(), **kwargs) -> list[float]:
        scores = [1.0 if extract_code(c, l) is not None else 0.0 for c, l in zip(completions, lang)]
        _log(kwargs, "format", lang, scores)
        return scores

    def visual(self, prompts=None, completions=(), lang=(), image=(), **kwargs) -> list[float]:
        parts = self.score(list(completions), list(lang), list(image))
        _log(kwargs, "visual", lang, [p["visual"] for p in parts])
        _log(kwargs, "executed", lang, [p["executed"] for p in parts])
        return [p["visual"] for p in parts]

    def score(self, completions: list, langs: list[str], targets: list) -> list[dict[str, float]]:
        """Every component for a batch: format, executed, coarse, fine, visual, total."""
        from training.data import as_image

        cfg = self.config
        codes = [extract_code(c, l) for c, l in zip(completions, langs)]
        todo = [i for i, code in enumerate(codes) if code is not None]
        results = self.service.render_many([(langs[i], codes[i]) for i in todo])
        targets = [as_image(t) for t in targets]
        keys = [_image_key(t) for t in targets]
        rendered: dict[int, list] = {}
        for i, result in zip(todo, results):
            if result.ok:
                from PIL import Image

                img = Image.open(io.BytesIO(result.png)).convert("RGB").resize(targets[i].size, Image.BICUBIC)
                rendered[i] = crops(img, cfg.tile, cfg.max_tiles, tile_grid(*targets[i].size, cfg.max_tiles))
        missing = [k for k in dict.fromkeys(keys[i] for i in rendered) if k not in self._targets]
        target_crops = {k: crops(targets[keys.index(k)], cfg.tile, cfg.max_tiles) for k in missing}
        batch = [c for k in missing for c in target_crops[k]] + [c for i in rendered for c in rendered[i]]
        embeddings = self.encoder.embed(batch, cfg.encoder_batch) if batch else None
        offset = 0
        for k in missing:
            n = len(target_crops[k])
            self._remember(k, embeddings[offset:offset + n])
            offset += n
        out = []
        for i in range(len(completions)):
            fmt = 1.0 if codes[i] is not None else 0.0
            parts = {"format": fmt, "executed": 0.0, "coarse": 0.0, "fine": 0.0, "visual": 0.0}
            if i in rendered:
                n = len(rendered[i])
                mine = embeddings[offset:offset + n]
                offset += n
                sims = ((mine * self._targets[keys[i]]).sum(-1).numpy() + 1) / 2
                coarse, fine = float(sims[0]), float(sims[1:].mean())
                visual = (cfg.coarse_weight * sims[0] + cfg.fine_weight * sims[1:].sum()) / (cfg.coarse_weight + cfg.fine_weight * (n - 1))
                parts.update(executed=1.0, coarse=coarse, fine=fine, visual=float(visual))
            parts["total"] = cfg.visual_weight * parts["visual"] + cfg.format_weight * fmt
            out.append(parts)
        return out

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
