"""Code → PNG for every language of ``core.languages``, in sandboxed warm worker pools."""
from .base import ERROR_KINDS, Canvas, RenderError, RenderResult, lang_from_path
from .pool import RenderPool, RenderService
from .sandbox import detect_isolation

__all__ = ["ERROR_KINDS", "Canvas", "RenderError", "RenderResult", "RenderPool", "RenderService", "detect_isolation",
           "lang_from_path"]
