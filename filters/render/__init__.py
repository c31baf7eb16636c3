"""Code → PNG for python, html, svg, latex and smiles, in sandboxed warm worker pools."""
from .base import ERROR_KINDS, EXTENSIONS, LANGS, Canvas, RenderError, RenderResult, lang_from_path
from .pool import RenderPool, RenderService, render_many
from .sandbox import detect_isolation

__all__ = ["ERROR_KINDS", "EXTENSIONS", "LANGS", "Canvas", "RenderError", "RenderResult", "RenderPool",
           "RenderService", "detect_isolation", "lang_from_path", "render_many"]
