"""Python renderer: matplotlib (and RDKit-drawing) scripts, captured however they end.

The script runs unmodified in a fresh namespace of a forked warm worker. Instead of editing its
source, the renderer wraps the pyplot entry points at run time: ``plt.show()`` and
``Figure.savefig(path)`` only *note* the figure (nothing is written outside the scratch folder),
and when the script ends the noted figure -- or the current one -- is drawn at a fixed DPI. A
script that draws no figure but writes an image file (RDKit's ``MolToFile``, PIL) is captured from
its scratch folder.
"""
from __future__ import annotations

import builtins
import glob
import io
import os
import random
from typing import ClassVar

from .base import Canvas, RenderError

DPI = 100
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


class PythonRenderer:
    lang: ClassVar[str] = "python"
    canvas: ClassVar[Canvas] = Canvas(
        "the script's figure at 100 DPI (figsize x 100 px), its own facecolor flattened on white; "
        "at most 16.7 Mpx and 8192 px a side",
        prompt=f"It is rendered with matplotlib's Agg backend at {DPI} DPI; the figure size sets the picture size.",
    )
    mode: ClassVar[str] = "fork"
    pids_max: ClassVar[int] = 64
    memory_max: ClassVar[int | None] = None  # per-process RLIMIT_AS bounds it; a memory cgroup costs ~9 ms a sample in page-fault charging
    sample_in_jail: ClassVar[bool] = True
    keeps_processes: ClassVar[bool] = False
    jailed: bool = False

    def setup(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy  # noqa: F401 - warm import for the forked children

        self._plt = plt
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

    def render(self, code: str, workdir: str, timeout_s: float, trace: str | None = None) -> bytes | tuple[bytes, str]:
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
        noted: list[Figure] = []
        original_savefig = Figure.savefig

        def note_savefig(fig, fname=None, *args, **kwargs):
            if fig not in noted:
                noted.append(fig)
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
        except Exception as exc:  # noqa: BLE001 - every exception of user code is a runtime failure
            raise RenderError("runtime", f"{type(exc).__name__}: {exc}") from None

        figure = noted[-1] if noted else (plt.gcf() if plt.get_fignums() else None)
        if figure is None:
            if recorder is not None:
                raise RenderError("blank", "the script drew no figure to trace")
            return self._image_file(workdir)
        png = self._draw(figure)
        if recorder is None:
            return png
        try:
            return png, recorder.collect(figure)
        except MemoryError:
            raise RenderError("memory", "MemoryError while tracing the figure") from None
        except Exception as exc:  # noqa: BLE001 - tracing draws the user's artists again
            raise RenderError("runtime", f"{type(exc).__name__} while tracing: {exc}") from None

    def _draw(self, figure) -> bytes:
        width, height = figure.get_size_inches() * DPI
        if width * height > self.canvas.max_pixels or max(width, height) > self.canvas.max_side:
            raise RenderError("forbidden", f"figure of {width:.0f}x{height:.0f} px exceeds the canvas limit")
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        try:
            figure.set_dpi(DPI)
            canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
            canvas.draw()
            rgba = np.asarray(canvas.buffer_rgba())
        except MemoryError:
            raise RenderError("memory", "MemoryError while drawing the figure") from None
        except Exception as exc:  # noqa: BLE001 - drawing errors come from the user's artists
            raise RenderError("runtime", f"{type(exc).__name__} while drawing: {exc}") from None
        alpha = rgba[..., 3:4].astype(np.uint16)
        rgb = (rgba[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha)) // 255
        buf = io.BytesIO()
        Image.fromarray(rgb.astype(np.uint8), "RGB").save(buf, format="PNG", compress_level=6)
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
