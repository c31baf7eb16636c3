"""Shared types of the render engine: results, error kinds, canvases, the renderer base class with its
declared resources, and the renderer registry.

A renderer turns code of one language into PNG bytes. It runs *inside* a sandboxed worker
(see ``worker.py``); the pool in the parent only ever sees ``RenderResult`` values.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from core.errors import VinciError
from core.languages import LANGS, LANGUAGES, language_of_path

from .sandbox import SampleLimits

ERROR_KINDS = ("syntax", "runtime", "timeout", "memory", "blank", "forbidden", "unsupported", "missing_module")


class RenderError(VinciError):
    """A sample failed in a way we can name; ``kind`` is one of ``ERROR_KINDS``."""

    def __init__(self, kind: str, message: str):
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown render error kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Canvas:
    """What a language's renders look like; documented so that corpora are comparable.

    ``prompt`` says the same to a model, in the words of the task prompts."""

    description: str
    prompt: str = ""
    max_pixels: int = 4096 * 4096
    max_side: int = 8192


@dataclass(frozen=True)
class Convention:
    """One setting of how a language's pictures are drawn that datasets chose differently (the HTML
    viewport, TikZ's standalone border ...): its default (vinci's own), and the values it may take.
    A dataset's conventions (``sources/hub/registry.py``, a manifest) override the defaults per sample."""

    default: Any
    doc: str
    choices: tuple = ()
    bounds: tuple[float, float] | None = None
    pattern: str | None = None

    def check(self, name: str, value: Any) -> Any:
        kind = type(self.default)
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"render convention {name!r} takes a {kind.__name__}, not {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"render convention {name!r} is one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            raise ValueError(f"render convention {name!r} lies in {self.bounds[0]:g}..{self.bounds[1]:g}, not {value!r}")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise ValueError(f"render convention {name!r} must match {self.pattern}, not {value!r}")
        return value


def resolve_conventions(renderer: type, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """A renderer's conventions: its defaults, overridden by ``given``; an unknown name or a bad value is
    refused with a ``ValueError`` naming the ones it takes."""
    known: Mapping[str, Convention] = renderer.conventions
    out = {name: c.default for name, c in known.items()}
    for name, value in (given or {}).items():
        if name not in known:
            takes = ", ".join(known) or "none"
            raise ValueError(f"the {renderer.lang} renderer takes no render convention {name!r} (it takes: {takes})")
        out[name] = known[name].check(name, value)
    renderer.check_together(out)
    return out


@dataclass
class RenderResult:
    """Outcome of one sample: PNG bytes on success, else an error kind and message."""

    ok: bool
    png: bytes | None = None
    error_kind: str | None = None
    message: str = ""
    elapsed_s: float = 0.0
    width: int = 0
    height: int = 0
    cpu_s: float = 0.0  # CPU of the worker and all it spawned while it rendered this sample (the build's cost record)
    trace: str | None = None  # JSON text a sample's tracer wrote (untrusted: parse it as such)

    @classmethod
    def failure(cls, kind: str, message: str, elapsed_s: float = 0.0) -> "RenderResult":
        return cls(ok=False, error_kind=kind, message=printable(message[:2000], keep_newlines=True), elapsed_s=elapsed_s)

    def status_line(self) -> str:
        return "ok" if self.ok else f"error: {self.error_kind}: {self.first_line()}"

    def first_line(self) -> str:
        return (self.message.strip().splitlines() or [""])[0][:300]


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text a sample chose, made safe to show: control characters (terminal escapes, carriage
    returns that overwrite a log line) appear escaped, never interpreted."""
    def escape(ch: str) -> str:
        if ch == "\n" and keep_newlines:
            return ch
        if ch == "\t" or ch.isprintable():
            return ch
        return ch.encode("unicode_escape").decode("ascii")

    return "".join(escape(ch) for ch in text)


MODES = ("fork", "parse", "own")


@dataclass(frozen=True)
class Resources:
    """What one render worker of a language needs and may take, declared once per renderer.

    Read by the pool (its worker's cgroup cage: ``tasks``, ``memory_bytes``), the worker (``sample``: the
    rlimits of every sample, and of the helper programs a renderer runs), the Ray executor (an actor's
    CPUs, ``render_cpus``) and the scale projection (``cpus`` turns render wall time into core time).

    ``cpus``: cores one render keeps busy (Chromium about 2: its renderer, GPU and browser processes).
    ``memory_bytes``: what the worker and all its processes may hold together (a memory cgroup); ``None``
    leaves it to the per-process address-space limit of ``sample``, since charging a memory cgroup costs
    ~9 ms a sample in page faults where the render is cheap.
    ``tasks``: how many processes and threads the worker's cage may hold (a fork bomb stalls there).
    """

    cpus: float = 1.0
    memory_bytes: int | None = None
    tasks: int = 32
    sample: SampleLimits = SampleLimits()


class Renderer:
    """One language's renderer, instantiated once per worker process. A renderer subclasses this and
    declares ``lang``, ``canvas`` and ``mode``; everything else has a default.

    ``mode`` says how a sample is confined inside the (already sandboxed) worker:

    * ``fork`` -- the sample is *code* (Python): each one runs in a forked child of the warm
      worker, with its own limits, killed with its process group at the deadline; nothing it
      does to the interpreter survives it.
    * ``parse`` -- the sample is *data* for a parser (SVG, SMILES): it runs in the worker itself,
      which carries the memory and file limits, under an interval timer; forking would double
      the render time (copy-on-write faults) and buys nothing where no user code runs.
    * ``own`` -- the renderer drives its own child processes (pdflatex, Chromium) and enforces
      the deadline on them.

    ``conventions``: the settings a dataset may choose (``Convention``); ``render`` gets them resolved
    (``resolve_conventions``), ``None`` meaning the defaults; ``canvas_prompt`` says how a render under
    them looks. ``resources``: see ``Resources``.
    ``sample_in_jail``: the sample's code runs in the per-sample jail (``jail.py``);
    ``keeps_processes``: the worker's child processes outlive a sample (a browser), so the worker
    must not sweep them. The worker sets ``jailed`` before ``setup`` to say whether the jail is available.
    """

    lang: ClassVar[str]
    canvas: ClassVar[Canvas]
    mode: ClassVar[str]
    conventions: ClassVar[Mapping[str, Convention]] = MappingProxyType({})
    resources: ClassVar[Resources] = Resources()
    sample_in_jail: ClassVar[bool] = False
    keeps_processes: ClassVar[bool] = False
    jailed: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in ("lang", "canvas", "mode") if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"renderer {cls.__name__} declares no {', '.join(missing)}")
        if cls.mode not in MODES:
            raise TypeError(f"renderer {cls.__name__}: mode is one of {', '.join(MODES)}, not {cls.mode!r}")

    @classmethod
    def check_together(cls, settings: dict[str, Any]) -> None:
        """Refuse, with a ``ValueError``, resolved conventions that are valid one by one but not together."""

    @classmethod
    def canvas_prompt(cls, conventions: dict[str, Any] | None) -> str:
        """How a render under ``conventions`` looks, in a prompt's words; the canvas's own by default."""
        return cls.canvas.prompt

    def setup(self) -> None:
        """Build the warm state every sample of this worker shares (imports, a browser, a format)."""

    def render(self, code: str, workdir: str, timeout_s: float, conventions: dict[str, Any] | None = None) -> bytes:
        """The sample's picture as image bytes (the worker normalises them), or a ``RenderError``."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Release what ``setup`` built."""


def render_cpus(workers: int | Mapping[str, int]) -> float:
    """The CPUs one holder of render pools keeps busy while it renders a unit (a unit is of one source,
    so one language at a time, of any): the most any language's workers declare together."""
    def count(lang: str) -> int:
        return workers.get(lang, 1) if isinstance(workers, Mapping) else workers

    return max(count(lang) * renderer_class(lang).resources.cpus for lang in LANGS)


def renderer_class(lang: str) -> type:
    """Import a language's renderer lazily: a worker only pays for the language it serves."""
    if lang not in LANGUAGES:
        raise RenderError("unsupported", f"no renderer for language {lang!r}; known: {', '.join(LANGS)}")
    return LANGUAGES[lang].renderer_class()


def lang_from_path(path: str) -> str:
    lang = language_of_path(path)
    if lang is None:
        raise RenderError("unsupported", f"cannot tell the language of {path!r} from its extension; pass --lang")
    return lang


COLOUR_HINTS = (b"bKGD", b"pHYs", b"gAMA", b"cHRM", b"sRGB")  # small fixed-size chunks renderers write


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def is_bare_png(data: bytes, rows_only: bool = True) -> bool:
    """Only IHDR, IDAT, IEND and small colour hints, nothing after IEND, and (``rows_only``) IDAT data
    that inflates to exactly the image's rows, nothing before or after them: a PNG that carries nothing
    but pixels (cairo's background hint included, so its output is kept as it is, not re-encoded).

    Anything else (a private chunk, bytes after the end, bytes after the compressed rows inside IDAT
    or past them in the stream, an interlaced image) means the file is re-encoded, so a row's image
    holds exactly its pixels whatever the sample wrote, and is no larger than they need. The inflate
    costs ~1 ms per Mpx: ``rows_only=False`` skips it for bytes only vinci's own encoders wrote (cairo,
    Chromium, Pillow, RDKit), which a sample draws into but does not write.
    """
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos, idat, rows = 8, [], None
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR" and len(body) == 13 and rows is None:
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour, interlace = body[8], body[9], body[12]
            if interlace or colour not in CHANNELS:
                return False
            rows = height * (1 + (width * CHANNELS[colour] * depth + 7) // 8)
        elif kind == b"IDAT" and rows is not None:
            idat.append(body)
        elif kind == b"IEND":
            return pos == len(data) and rows is not None and (not rows_only or _inflates_to(b"".join(idat), rows))
        elif not (kind in COLOUR_HINTS and length <= 64):
            return False
    return False


def _inflates_to(stream: bytes, size: int) -> bool:
    """The zlib ``stream`` ends after exactly ``size`` bytes of output, with nothing after its end."""
    import zlib

    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(stream, size + 1)
    except zlib.error:
        return False
    return len(out) == size and inflater.eof and not inflater.unused_data and not inflater.unconsumed_tail


class CheckedPicture(bytes):
    """A PNG that vinci's own code encoded in the worker from pixels it checked as ``normalize_png`` checks
    them (``encode_checked``): the worker passes it on without decoding it again. A sample's bytes, which
    come through a pipe, are never one."""

    width: int
    height: int


def encode_checked(image, canvas: Canvas) -> CheckedPicture:
    """An RGB picture (PIL) as the PNG ``normalize_png`` would give for it -- the same canvas limit, the same
    blank check, the same encoder -- without the PNG's decode that ``normalize_png`` would add."""
    width, height = image.size
    if width * height > canvas.max_pixels or max(width, height) > canvas.max_side:
        raise RenderError("forbidden", f"render of {width}x{height} pixels exceeds the canvas limit")
    if image.mode != "RGB":
        raise ValueError(f"encode_checked takes an RGB picture, not {image.mode}")
    lo, hi = image.convert("L").getextrema()
    if hi - lo < 2:
        raise RenderError("blank", f"the render is a single flat colour ({width}x{height})")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    png = CheckedPicture(out.getvalue())
    png.width, png.height = width, height
    return png


def normalize_png(data: bytes, canvas: Canvas, written_by_sample: bool = True) -> tuple[bytes, int, int]:
    """Decode any renderer output, flatten it on white, reject blanks, re-encode deterministically.

    Re-encoding strips metadata (timestamps, RDKit's embedded mol blocks, software tags), which is
    what makes the same code give the same bytes whatever the renderer wrote. A PNG that is already
    plain RGB without any metadata chunk is kept as it is: re-encoding it would only cost time.
    ``written_by_sample``: the sample wrote these bytes itself (a Python script's ``savefig``), so they
    are kept only if their IDAT holds exactly the rows (``is_bare_png``).
    """
    if isinstance(data, CheckedPicture) and not written_by_sample:
        return bytes(data), data.width, data.height
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = canvas.max_pixels
    try:
        img = Image.open(io.BytesIO(data), formats=("PNG",))  # every renderer answers in PNG; no other decoder runs here
        width, height = img.size
        if width * height > canvas.max_pixels or max(width, height) > canvas.max_side:
            raise RenderError("forbidden", f"render of {width}x{height} pixels exceeds the canvas limit")
        img.load()
    except RenderError:
        raise
    except Image.DecompressionBombError as exc:
        raise RenderError("forbidden", f"render exceeds the canvas limit: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any undecodable output is the sample's failure
        raise RenderError("runtime", f"renderer produced no readable image: {exc}") from None
    plain = img.format == "PNG" and img.mode == "RGB" and not img.info and is_bare_png(data, rows_only=written_by_sample)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    img = img.convert("RGB")
    lo, hi = img.convert("L").getextrema()
    if hi - lo < 2:
        raise RenderError("blank", f"the render is a single flat colour ({width}x{height})")
    if plain:
        return data, width, height
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=6)
    return out.getvalue(), width, height

