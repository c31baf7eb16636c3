"""The ``pixel`` encoder of the visual reward: per-crop similarity computed on pixels, no weights.

Each 448×448 crop (the reward's thumbnail and tiles, ``training.rewards.crops``) is compared at
three scales (112, 56 and 28 px: fine strokes, shapes, layout) by two maps:

* structure: SSIM of the luminance (7×7 Gaussian window, σ 1.5, the usual constants);
* colour: 1 − the RGB distance of the locally averaged pixels (Euclidean, divided by √3: black to
  white is 1, red to green of the same luma 0.65).

Their product is averaged with **ink weights**: a pixel counts by how far either picture departs
there from the target crop's background colour (its most common colour), plus a small floor. A
plain SSIM is dominated by the white around a drawing (issue 24: SVG renders scored 0.636 against
their own targets and 0.629 against others); with ink weights, agreeing background adds little
and a shape drawn where the target has none costs as much as a missing one. Two empty crops
score 1.

Same interface as ``DinoEncoder``: ``embed`` maps crops to features the reward caches per target
(here the 112-px crop, as uint8), ``similarity`` scores a render's features against a target's, one
value in [0, 1] per crop.
"""
from __future__ import annotations

import numpy as np

PIXEL = "pixel"
SCALES = (112, 56, 28)
WINDOW = 7
SIGMA = 1.5
C1, C2 = 0.01 ** 2, 0.03 ** 2
INK_FLOOR = 0.05  # weight of a pixel where neither picture has ink: agreeing background counts a little
INK_FULL = 0.25   # a colour difference from the background of this much (max over RGB) is full ink


class PixelEncoder:
    """Multi-scale structural × colour similarity per crop, weighted by ink (see the module docstring)."""

    def __init__(self, device: str | None = None):
        import torch

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        half = WINDOW // 2
        g = torch.exp(-((torch.arange(WINDOW, dtype=torch.float32) - half) ** 2) / (2 * SIGMA ** 2))
        self.kernel = (g / g.sum()).to(self.device)

    def embed(self, pixels, batch: int = 32):
        """Crops ``(N, 3, H, W)`` in [0, 1] → ``(N, 3, 112, 112)`` uint8: what the similarity needs, kept small
        enough to cache thousands of targets."""
        import torch.nn.functional as F

        out = []
        for i in range(0, len(pixels), batch):
            chunk = pixels[i:i + batch].to(self.device).float()
            small = F.interpolate(chunk, size=(SCALES[0], SCALES[0]), mode="area")
            out.append((small * 255).round().clamp(0, 255).to(self.torch.uint8).cpu())
        return self.torch.cat(out) if out else self.torch.zeros(0, 3, SCALES[0], SCALES[0], dtype=self.torch.uint8)

    def similarity(self, render, target) -> np.ndarray:
        """One score in [0, 1] per crop pair (``render[i]`` against ``target[i]``)."""
        import torch.nn.functional as F

        x = render.to(self.device).float() / 255
        y = target.to(self.device).float() / 255
        background = dominant_colour(y)
        total = 0.0
        for size in SCALES:
            xs = F.interpolate(x, size=(size, size), mode="area") if size != x.shape[-1] else x
            ys = F.interpolate(y, size=(size, size), mode="area") if size != y.shape[-1] else y
            ink = ((xs - background).abs().amax(1).maximum((ys - background).abs().amax(1)) / INK_FULL).clamp(max=1.0)
            weight = self._blur(ink.unsqueeze(1)).squeeze(1) + INK_FLOOR
            score = self._ssim_map(luminance(xs), luminance(ys)).clamp(min=0) * self._colour_map(xs, ys)
            total = total + (score * weight).sum((1, 2)) / weight.sum((1, 2))
        return (total / len(SCALES)).clamp(0, 1).cpu().numpy()

    def _blur(self, x):
        """Separable Gaussian blur of ``(N, C, H, W)`` (reflect-padded, so the borders count like the inside)."""
        import torch.nn.functional as F

        channels = x.shape[1]
        k = self.kernel
        x = F.pad(x, (WINDOW // 2,) * 4, mode="reflect")
        x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
        return F.conv2d(x, k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)

    def _ssim_map(self, a, b):
        mu_a, mu_b = self._blur(a), self._blur(b)
        var_a = self._blur(a * a) - mu_a ** 2
        var_b = self._blur(b * b) - mu_b ** 2
        cov = self._blur(a * b) - mu_a * mu_b
        ssim = ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a ** 2 + mu_b ** 2 + C1) * (var_a + var_b + C2))
        return ssim.squeeze(1)

    def _colour_map(self, a, b):
        return 1 - ((self._blur(a) - self._blur(b)) ** 2).sum(1).sqrt() / 3 ** 0.5


def luminance(x):
    """ITU-R 601 luma of ``(N, 3, H, W)`` → ``(N, 1, H, W)``."""
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


def dominant_colour(x):
    """Each crop's most common colour (RGB quantised to 16 levels a channel), ``(N, 3, 1, 1)`` in [0, 1]."""
    import torch

    q = (x * 15).round().long()
    codes = (q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]).flatten(1)
    modes = torch.stack([torch.bincount(c, minlength=4096).argmax() for c in codes])
    rgb = torch.stack([modes // 256, (modes // 16) % 16, modes % 16], dim=1).float() / 15
    return rgb.view(-1, 3, 1, 1).to(x.device)
