"""Python renderer: matplotlib (and RDKit-drawing) scripts, captured however they end.

The script runs unmodified in a fresh namespace of a forked warm worker. Instead of editing its
source, the renderer wraps the pyplot entry points at run time: ``plt.show()`` and
``Figure.savefig(path)`` only *note* the figure (nothing is written outside the scratch folder),
and when the script ends the noted figure -- or the current one -- is drawn at a fixed DPI. A
script that draws no figure but writes an image file (RDKit's ``MolToFile``, PIL) is captured from
its scratch folder.

The ``savefig`` convention says how the noted figure is drawn. ``script`` (the default): as the
script saved it -- the options of its last ``savefig`` call that change the picture
(``SAVEFIG_PICTURE_OPTIONS``: ``bbox_inches="tight"`` crops to the drawn content, ``pad_inches``,
``facecolor`` ...) are honoured, its ``dpi`` and format are not (vinci's DPI is fixed). ``figure``:
the whole figure at figsize x DPI, whatever the script asked. Real chart code saves with
``bbox_inches="tight"`` (all 499 ground-truth scripts of ChartMimic), and its dataset's picture is that crop.

Code written for older library versions runs through a few drift shims (``drift.py``), and a
script importing a package the render environment lacks fails as ``missing_module``, naming it.
"""
from __future__ import annotations

import builtins
import glob
import io
import os
import random
from typing import Any

from .base import Canvas, Convention, RenderError, Renderer, Resources, resolve_conventions
from .drift import install_drift_shims

DPI = 100
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
SAVEFIG_PICTURE_OPTIONS = ("bbox_inches", "pad_inches", "facecolor", "edgecolor", "transparent", "bbox_extra_artists")


class PythonRenderer(Renderer):
    lang = "python"
    canvas = Canvas(
        "the script's figure at 100 DPI (figsize x 100 px), its own facecolor flattened on white, saved with the "
        "options of the script's own savefig (bbox_inches='tight' crops it); at most 16.7 Mpx and 8192 px a side",
        prompt=f"It is rendered with matplotlib's Agg backend at {DPI} DPI; the figure size sets the picture size, "
               "cropped as the script's own savefig call asks (bbox_inches='tight').",
    )
    conventions = {
        "savefig": Convention("script", "script: honour the picture options of the script's own savefig call; "
                                        "figure: the whole figure at figsize x DPI", choices=("script", "figure")),
    }
    mode = "fork"
    resources = Resources(memory_bytes=5 << 30, tasks=64)  # a cgroup cap: RLIMIT_AS is per process and misses shared pages
    sample_in_jail = True

    @classmethod
    def canvas_prompt(cls, conventions: dict[str, Any] | None) -> str:
        if resolve_conventions(cls, conventions)["savefig"] == "figure":
            return f"It is rendered with matplotlib's Agg backend at {DPI} DPI; the figure size sets the picture size."
        return cls.canvas.prompt

    def setup(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy  # noqa: F401 - warm import for the forked children

        self._plt = plt
        install_drift_shims()
        self._warm()

    def _warm(self) -> None:
        """Draw one chart with text so fonts, mathtext and lazy modules are loaded before forking."""
        fig, axes = self._plt.subplots(1, 2, figsize=(4, 3))
        axes[0].plot([0, 1], [1, 0], label="$x^2$")
        axes[0].legend()
        axes[1].bar(["a", "b"], [1, 2])
        axes[1].set_title("warm")
        fig.savefig(io.BytesIO(), format="png", dpi=DPI)
        self._plt.close("all")
        import matplotlib.backends.backend_pdf  # noqa: F401 - a traced sample draws its texts through it (0.6 s to import)
        try:
            import mpl_toolkits.mplot3d  # noqa: F401
            import matplotlib.patheffects  # noqa: F401
        except ImportError:
            pass

    def render(self, code: str, workdir: str, timeout_s: float, conventions: dict[str, Any] | None = None,
               trace: str | None = None) -> bytes | tuple[bytes, str]:
        """The script's figure as PNG; with ``trace`` (a name in ``chart_trace.TRACERS``), also what
        the script drew, as JSON text: ``(png, trace)``."""
        import matplotlib
        from matplotlib.figure import Figure
        import numpy as np

        plt = self._plt
        try:
            compiled = compile(code, os.path.join(workdir, "main.py"), "exec")
        except (SyntaxError, ValueError) as exc:
            raise RenderError("syntax", f"{type(exc).__name__}: {exc}") from None

        plt.close("all")
        matplotlib.rcdefaults()
        matplotlib.use("Agg")
        np.random.seed(0)
        random.seed(0)
        policy = resolve_conventions(type(self), conventions)["savefig"]
        noted: list[Figure] = []
        saved_with: dict[int, dict] = {}
        original_savefig = Figure.savefig

        def note_savefig(fig, fname=None, *args, **kwargs):
            if fig not in noted:
                noted.append(fig)
            saved_with[id(fig)] = picture_options(kwargs, matplotlib.rcParams)
            if fname is not None and hasattr(fname, "write"):
                return original_savefig(fig, fname, *args, **kwargs)
            return None

        def note_show(*_args, **_kwargs):
            for num in plt.get_fignums():
                fig = plt.figure(num)
                if fig not in noted:
                    noted.append(fig)

        def no_input(*_args, **_kwargs):
            raise EOFError("input() is not available while rendering")

        Figure.savefig = note_savefig
        plt.savefig = lambda *a, **k: note_savefig(plt.gcf(), *a, **k)
        plt.show = note_show
        builtins.input = no_input
        recorder = None
        if trace is not None:
            from .chart_trace import TRACERS

            if trace not in TRACERS:
                raise RenderError("unsupported", f"no trace {trace!r}; known: {', '.join(TRACERS)}")
            recorder = TRACERS[trace]()
            recorder.install()
        namespace = {"__name__": "__main__", "__file__": compiled.co_filename, "__builtins__": builtins}
        try:
            exec(compiled, namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise RenderError("runtime", f"SystemExit: {exc.code}") from None
        except MemoryError:
            raise RenderError("memory", "MemoryError: the script exceeded the memory limit") from None
        except RecursionError as exc:
            raise RenderError("runtime", f"RecursionError: {exc}") from None
        except ModuleNotFoundError as exc:
            raise RenderError("missing_module", f"ModuleNotFoundError: No module named {exc.name!r}") from None
        except Exception as exc:  # noqa: BLE001 - every exception of user code is a runtime failure
            raise RenderError("runtime", f"{type(exc).__name__}: {exc}") from None

        figure = noted[-1] if noted else (plt.gcf() if plt.get_fignums() else None)
        if figure is None:
            if recorder is not None:
                raise RenderError("blank", "the script drew no figure to trace")
            return self._image_file(workdir)
        options = saved_with.get(id(figure), {}) if policy == "script" else {}
        png = self._draw(figure, options, original_savefig)
        if recorder is None:
            return png
        try:
            return png, recorder.collect(figure)
        except MemoryError:
            raise RenderError("memory", "MemoryError while tracing the figure") from None
        except Exception as exc:  # noqa: BLE001 - tracing draws the user's artists again
            raise RenderError("runtime", f"{type(exc).__name__} while tracing: {exc}") from None

    def _draw(self, figure, options: dict, savefig) -> bytes:
        """The figure at ``DPI``: drawn whole, or -- when the script saved it with options that change the
        picture -- through matplotlib's own ``savefig`` with those options."""
        width, height = figure.get_size_inches() * DPI
        if width * height > self.canvas.max_pixels or max(width, height) > self.canvas.max_side:
            raise RenderError("forbidden", f"figure of {width:.0f}x{height:.0f} px exceeds the canvas limit")
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        try:
            figure.set_dpi(DPI)
            canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
            if options:
                # Raw RGBA, not PNG: the same pixels (savefig draws the picture into the canvas's renderer
                # either way) without encoding a PNG to decode it again; the output is byte-identical.
                savefig(figure, io.BytesIO(), format="raw", dpi=DPI, **options)
                rgba = np.asarray(canvas.renderer.buffer_rgba())
            else:
                canvas.draw()
                rgba = np.asarray(canvas.buffer_rgba())
        except MemoryError:
            raise RenderError("memory", "MemoryError while drawing the figure") from None
        except Exception as exc:  # noqa: BLE001 - drawing errors come from the user's artists
            raise RenderError("runtime", f"{type(exc).__name__} while drawing: {exc}") from None
        if rgba.shape[0] * rgba.shape[1] > self.canvas.max_pixels or max(rgba.shape[:2]) > self.canvas.max_side:
            raise RenderError("forbidden", f"picture of {rgba.shape[1]}x{rgba.shape[0]} px exceeds the canvas limit")
        buf = io.BytesIO()
        flatten_on_white(rgba).save(buf, format="PNG", compress_level=6)
        return buf.getvalue()

    def _image_file(self, workdir: str) -> bytes:
        """No figure: take the image the script wrote last in its scratch folder."""
        found = [p for p in glob.glob(os.path.join(workdir, "**", "*"), recursive=True)
                 if p.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(p)]
        if not found:
            raise RenderError("blank", "the script drew no figure and wrote no image")
        path = max(found, key=lambda p: (os.path.getmtime(p), p))
        with open(path, "rb") as fh:
            data = fh.read()
        if path.lower().endswith(".svg"):
            from .svg import svg_to_png

            return svg_to_png(data, self.canvas)
        return as_png(data, self.canvas)

    def teardown(self) -> None:
        self._plt.close("all")


def flatten_on_white(rgba) -> Any:
    """An RGBA canvas (a ``(height, width, 4)`` uint8 array) as RGB on white, rounded down as
    ``(c * a + 255 * (255 - a)) // 255``. Most figures are opaque, and where every alpha is 255 that is the
    colour itself: PIL drops the alpha band then (~1 ms for 800 x 600, against ~10 ms for the arithmetic)."""
    import numpy as np
    from PIL import Image

    rgba = np.ascontiguousarray(rgba)
    if rgba.size and int(rgba[..., 3].min()) == 255:
        height, width = rgba.shape[:2]
        return Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    alpha = rgba[..., 3:4].astype(np.uint16)
    rgb = (rgba[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha)) // 255
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def picture_options(kwargs: dict, rc) -> dict:
    """The options of a ``savefig`` call that change the picture, including those the script set once in
    ``rcParams`` (``savefig.bbox: tight``, a ``savefig.facecolor``, ``savefig.transparent``) as they stood then."""
    options = {k: v for k, v in kwargs.items() if k in SAVEFIG_PICTURE_OPTIONS}
    if "bbox_inches" not in options and rc["savefig.bbox"] == "tight":
        options["bbox_inches"] = "tight"
    if "facecolor" not in options and rc["savefig.facecolor"] != "auto":
        options["facecolor"] = rc["savefig.facecolor"]
    if "transparent" not in options and rc["savefig.transparent"]:
        options["transparent"] = True
    return options


def as_png(data: bytes, canvas: Canvas) -> bytes:
    """An image file the script wrote, as PNG: decoded here, in the sample's jail, so that the worker
    only ever decodes PNG (and only JPEG and PNG are taken from a script)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = canvas.max_pixels
    try:
        img = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
        img.load()
    except Exception as exc:  # noqa: BLE001 - any undecodable file is the script's failure
        raise RenderError("runtime", f"the image the script wrote cannot be read as PNG or JPEG: {exc}") from None
    if img.format == "PNG":
        return data
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


RENDERER = PythonRenderer
