"""SVG renderer: cairosvg, with no external resources and no entity expansion.

cairosvg parses through defusedxml when ``unsafe`` is off (entities and external DTDs are refused);
on top of that the URL fetcher only serves ``data:`` URIs, so ``<image href="file://...">`` or
``http://`` references never load anything.
"""
from __future__ import annotations

import base64
import io
import urllib.parse
from typing import Any

from .base import Canvas, Convention, RenderError, Renderer, resolve_conventions

LONG_SIDE = 512


def data_only_fetcher(url: str, resource_type: str | None = None):
    """Serve ``data:`` URIs in memory; refuse everything else."""
    if not url.startswith("data:"):
        raise RenderError("forbidden", f"external resource refused: {url[:80]}")
    header, _, payload = url[5:].partition(",")
    mime = header.split(";")[0] or "text/plain"
    body = base64.b64decode(payload) if header.endswith(";base64") else urllib.parse.unquote_to_bytes(payload)
    return {"string": body, "mime_type": mime}


class _SizeProbe:
    """The few attributes cairosvg's size helper reads, for a 96-DPI viewport."""

    dpi = 96
    font_size = 12
    context_width = context_height = 512


def intrinsic_size(tree) -> tuple[float, float]:
    from cairosvg.helpers import node_format

    width, height, viewbox = node_format(_SizeProbe(), tree)
    if (not width or not height) and viewbox:
        width, height = viewbox[2], viewbox[3]
    return width or 300.0, height or 150.0


def svg_to_png(data: bytes, canvas: Canvas, long_side: int = LONG_SIDE, size: tuple[int, int] | None = None) -> bytes:
    """The SVG as PNG: its own aspect, longer side ``long_side``; or stretched to exactly ``size``
    (what cairosvg's ``output_width`` and ``output_height`` do, as some benchmarks rasterise)."""
    from cairosvg.parser import Tree
    from cairosvg.surface import PNGSurface

    try:
        tree = Tree(bytestring=data, url_fetcher=data_only_fetcher, unsafe=False)
    except RenderError:
        raise
    except Exception as exc:  # noqa: BLE001 - defusedxml/lxml raise many parse error types
        name = type(exc).__name__
        kind = "forbidden" if "Entities" in name or "DTD" in name or "External" in name else "syntax"
        raise RenderError(kind, f"{name}: {exc}") from None
    width, height = intrinsic_size(tree)
    if width <= 0 or height <= 0:
        raise RenderError("blank", f"the SVG has no area ({width}x{height})")
    scale = long_side / max(width, height)
    out_w, out_h = size or (max(1, round(width * scale)), max(1, round(height * scale)))
    if out_w * out_h > canvas.max_pixels:
        raise RenderError("forbidden", f"SVG of aspect {width}:{height} exceeds the canvas limit")
    try:
        out = io.BytesIO()
        PNGSurface(tree, out, 96, output_width=out_w, output_height=out_h, background_color="white").finish()
        return out.getvalue()
    except RenderError:
        raise
    except MemoryError:
        raise RenderError("memory", "MemoryError while rendering the SVG") from None
    except Exception as exc:  # noqa: BLE001 - cairosvg raises plain exceptions for bad documents
        raise RenderError("runtime", f"{type(exc).__name__}: {exc}") from None


class SvgRenderer(Renderer):
    lang = "svg"
    canvas = Canvas(
        f"the SVG's own aspect ratio, longer side {LONG_SIDE} px, white background",
        prompt=f"It is rendered with its own aspect ratio, the longer side scaled to {LONG_SIDE} px, on white.",
    )
    conventions = {
        "long_side": Convention(LONG_SIDE, "px of the picture's longer side", bounds=(16, 4096)),
        "width": Convention(0, "px: stretch the picture to exactly width x height, as some benchmarks rasterise "
                               "(0, with height 0: its own aspect)", bounds=(0, 4096)),
        "height": Convention(0, "px, with width", bounds=(0, 4096)),
    }
    mode = "parse"

    @classmethod
    def check_together(cls, settings: dict[str, Any]) -> None:
        if (settings["width"] == 0) != (settings["height"] == 0):
            raise ValueError("the svg render conventions width and height are set together (or neither)")

    @classmethod
    def canvas_prompt(cls, conventions: dict[str, Any] | None) -> str:
        settings = resolve_conventions(cls, conventions)
        if settings["width"]:
            return f"It is rendered stretched to exactly {settings['width']}×{settings['height']} px, on white."
        return f"It is rendered with its own aspect ratio, the longer side scaled to {settings['long_side']} px, on white."

    def setup(self) -> None:
        warm = b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><text x="1" y="8">a</text><circle cx="15" cy="5" r="4"/></svg>'
        svg_to_png(warm, self.canvas)

    def render(self, code: str, workdir: str, timeout_s: float, conventions: dict[str, Any] | None = None) -> bytes:
        settings = resolve_conventions(type(self), conventions)
        size = (settings["width"], settings["height"]) if settings["width"] else None
        return svg_to_png(code.encode("utf-8"), self.canvas, settings["long_side"], size)



RENDERER = SvgRenderer
