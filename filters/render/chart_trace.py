"""What a matplotlib script draws, recorded inside the sandbox: ChartMimic's low-level evidence.

ChartMimic scores a chart script by running it with its drawing calls wrapped: the texts handed to
the PDF renderer (tick labels removed first), the grid position of every axes, how often each
plotting function was called (a call made inside another wrapped call does not count), and the
colour of what each colour-bearing call drew, re-read from the drawn object when the script ends.
This module does the same in the forked sample child, around the script vinci already runs: one
run yields the render and all four traces. Its output is data from an untrusted process; the host
parses it as such (``training.benchmarks.chart_trace``).

Keys name the function the way the official evaluator groups them (by defining module and name),
so a chart type or colour group compares equal on both sides of a pair.
"""
from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any, Callable

MAX_ITEMS = 2000
MAX_TEXT = 300
from .protocol import MAX_TRACE_BYTES


def to_hex(color) -> str | None:
    """A colour as ``#RRGGBB`` upper case (``#RRGGBBAA`` kept when the script wrote it so), the
    conversion the official evaluator applies; ``None`` when matplotlib cannot read it."""
    import matplotlib.colors as mcolors
    import numpy as np

    try:
        if isinstance(color, str):
            if color.startswith("#") and len(color) in (7, 9):
                return color.upper()
            return mcolors.to_hex(mcolors.to_rgba(color)).upper()
        if isinstance(color, (list, tuple, np.ndarray)) and len(color) in (3, 4):
            return mcolors.to_hex(color).upper()
    except (ValueError, TypeError):
        return None
    return None


def cmap_name(obj) -> str:
    return str(obj.get_cmap().name)


class Recorder:
    """Wraps the plotting entry points of one sample; ``collect`` returns the traces as JSON text."""

    def __init__(self) -> None:
        self.types: Counter[str] = Counter()
        self.objects: dict[tuple[str, str], tuple[Callable[[Any, str], list[str]], Any]] = {}
        self.type_depth = 0
        self.color_depth = 0

    # -- wrapping -------------------------------------------------------------------------------

    def wrap(self, owner, attr: str, type_key, color: Callable | None) -> None:
        """Replace ``owner.attr`` by a wrapper that counts ``type_key`` (a string, or a function of the
        call's arguments) and records colours with ``color(args, kwargs, result)`` -> [(group, colour,
        final, obj)]. The two official evaluators run separately, each ignoring calls made inside a
        call it already wraps; here they share one run, so each keeps its own nesting depth."""
        original = getattr(owner, attr, None)
        if original is None:
            return
        recorder = self

        def wrapper(*args, **kwargs):
            count = type_key is not None and recorder.type_depth == 0
            record = color is not None and recorder.color_depth == 0
            recorder.type_depth += type_key is not None
            recorder.color_depth += color is not None
            try:
                if count:
                    key = type_key(args) if callable(type_key) else type_key
                    recorder.types[key] += 1
                result = original(*args, **kwargs)
                if record:
                    for group, initial, final, obj in color(args, kwargs, result):
                        if initial is not None and len(recorder.objects) < MAX_ITEMS:
                            recorder.objects[(group, initial)] = (final, obj)
                return result
            finally:
                recorder.type_depth -= type_key is not None
                recorder.color_depth -= color is not None

        wrapper.__wrapped__ = original
        setattr(owner, attr, wrapper)

    def install(self) -> None:
        import matplotlib.patches as mpatches
        from matplotlib.axes import Axes
        from matplotlib.axes._base import _process_plot_var_args
        from matplotlib.image import NonUniformImage
        from matplotlib.projections.polar import PolarAxes

        def polar(args) -> bool:
            return bool(args) and type(args[0]) is PolarAxes

        face = lambda o, _c: [to_hex(o.get_facecolor())]  # noqa: E731
        face0 = lambda o, _c: [to_hex(list(o.get_facecolors()[0]))]  # noqa: E731
        line = lambda o, _c: [to_hex(o.get_color())]  # noqa: E731
        edges = lambda o, _c: [to_hex(list(e)) for e in o.get_edgecolors()]  # noqa: E731
        faces = lambda o, _c: [to_hex(list(f)) for f in o.get_facecolors()]  # noqa: E731
        cmap = lambda o, _c: [cmap_name(o)]  # noqa: E731

        def one(group, final, extract):
            def colors(args, kwargs, result):
                obj = extract(args, result)
                return [(group, (final(obj, "") or [None])[-1], final, obj)]
            return colors

        def each(group, final, items):
            def colors(args, kwargs, result):
                return [(group, (final(o, "") or [None])[0], final, o) for o in items(args, result)]
            return colors

        def many(group, final):
            def colors(args, kwargs, result):
                found = final(result, "")
                return [(group, found[-1], final, result)] if found else []
            return colors

        def scatter(group):
            def final(obj, initial):
                if initial and not initial.startswith("#"):
                    return [initial]
                fc = obj.get_facecolor()
                return [to_hex(list(fc[0]))] if len(fc) else []

            def colors(args, kwargs, result):
                c = kwargs.get("cmap")
                if c is not None:
                    name = c if isinstance(c, str) else c.name
                    return [(group, name, lambda o, i: [i], result)]
                fc = result.get_facecolor()
                return [(group, to_hex(list(fc[0])), final, result)] if len(fc) else []
            return colors

        line_group = "_base/_makeline"
        makeline = "_make_line" if "_make_line" in _process_plot_var_args.__dict__ else "_makeline"

        def made_line(args, kwargs, result):
            return [(line_group, to_hex(result[1]["color"]), line, result[0])]

        self.wrap(_process_plot_var_args, makeline, None, made_line)
        self.wrap(Axes, "bar", "_axes-bar", each("_axes/bar", lambda o, _c: [to_hex(list(o._original_facecolor))],
                                                 lambda a, r: list(r)))
        self.wrap(Axes, "barh", "_axes-barh", None)
        self.wrap(Axes, "plot", lambda a: "_axes_polar-plot" if polar(a) else "_axes-plot", None)
        self.wrap(PolarAxes, "plot", None, lambda a, k, r: [
            ("_axes/plot_polar", to_hex(ln.get_color()), line, ln) for ln in r])

        def scatter_any(args, kwargs, result):
            return scatter("_axes/scatter_polar" if polar(args) else "_axes/scatter")(args, kwargs, result)

        self.wrap(Axes, "scatter", "_axes-scatter", scatter_any)
        self.wrap(Axes, "axhline", "_axes-axhline", one("_axes/axhline", line, lambda a, r: r))
        self.wrap(Axes, "axvline", "_axes-axvline", one("_axes/axvline", line, lambda a, r: r))
        self.wrap(Axes, "axvspan", "_axes-axvspan", one("_axes/axvspan", face, lambda a, r: r))
        self.wrap(Axes, "axhspan", "_axes-axhspan", one("_axes/axhspan", face, lambda a, r: r))
        self.wrap(Axes, "hlines", "_axes-hlines", many("_axes/hlines", edges))
        self.wrap(Axes, "vlines", "_axes-vlines", many("_axes/vlines", edges))
        self.wrap(Axes, "errorbar", "_axes-errorbar", None)
        self.wrap(Axes, "boxplot", "_axes-boxplot", each(
            "_axes/boxplot", lambda o, _c: [to_hex(list(o.get_facecolor()))],
            lambda a, r: [b for b in r["boxes"] if type(b) is mpatches.PathPatch]))
        self.wrap(Axes, "violinplot", "_axes-violinplot", each(
            "_axes/violinplot", lambda o, _c: [to_hex(list(o.get_facecolor()[0]))], lambda a, r: list(r["bodies"])))
        self.wrap(Axes, "violin", "_axes-violin", None)

        def hist_patches(args, result):
            patches = result[2]
            flat = []
            for item in patches:
                flat.extend(item if isinstance(item, (list, tuple)) or hasattr(item, "patches") else [item])
            return flat

        self.wrap(Axes, "hist", "_axes-hist", each("_axes/hist", lambda o, _c: [to_hex(list(o.get_facecolor()))],
                                                   hist_patches))
        self.wrap(Axes, "_fill_between_x_or_y", None, one("_axes/_fill_between_x_or_y", face0, lambda a, r: r))
        self.wrap(Axes, "fill_between", "_axes-fill_between", None)
        self.wrap(Axes, "fill_betweenx", "_axes-fill_betweenx", None)
        self.wrap(Axes, "pie", "_axes-pie", each("_axes/pie", face, lambda a, r: list(r[0])))
        self.wrap(Axes, "quiver", "_axes-quiver", many("_axes/quiver", faces))
        self.wrap(Axes, "imshow", "_axes-imshow", one("_axes/imshow", cmap, lambda a, r: r))
        self.wrap(Axes, "pcolor", "_axes-pcolor", one("_axes/pcolor", cmap, lambda a, r: r))
        self.wrap(Axes, "contour", "_axes-contour", one("_axes/contour", cmap, lambda a, r: r))
        self.wrap(Axes, "contourf", "_axes-contourf", one("_axes/contourf", cmap, lambda a, r: r))
        self.wrap(Axes, "tripcolor", "_axes-tripcolor", one("_axes/tripcolor", cmap, lambda a, r: r))
        self.wrap(Axes, "fill", "_axes-fill", each("_axes/fill", lambda o, _c: [to_hex(list(o.get_facecolor()))],
                                                   lambda a, r: list(r)))
        self.wrap(Axes, "broken_barh", "_axes-broken_barh", many("_axes/broken_barh", faces))
        self.wrap(NonUniformImage, "__init__", "image-__init__", one("image/__init__", cmap, lambda a, r: a[0]))
        self.wrap(mpatches.Ellipse, "__init__", "patches-__init__", one("patches/__init__", face, lambda a, r: a[0]))
        self.wrap(mpatches.Circle, "__init__", "patches-__init__", one("patches/__init__", face, lambda a, r: a[0]))
        self._wrap_3d()
        self._wrap_on_import()

    def _wrap_on_import(self) -> None:
        """networkx, squarify and matplotlib_venn are wrapped when the script imports them (the
        moment the import returns, before a ``from`` import binds a name): importing them up front
        would cost every traced sample seconds (matplotlib_venn pulls in scipy.optimize)."""
        import builtins
        import sys

        pending = {"networkx": self._wrap_networkx, "squarify": self._wrap_squarify,
                   "matplotlib_venn": self._wrap_venn}
        original = builtins.__import__
        depth = [0]

        def hooked(name, *args, **kwargs):
            depth[0] += 1
            try:
                module = original(name, *args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0:  # the outermost import is complete: no module is half-initialised now
                for key in [k for k in pending if k in sys.modules]:
                    pending.pop(key)()
            return module

        for key in [k for k in pending if k in sys.modules]:
            pending.pop(key)()
        builtins.__import__ = hooked

    def _wrap_3d(self) -> None:
        try:
            from mpl_toolkits.mplot3d import Axes3D

            first_face = lambda o, _c: [to_hex(o.get_facecolors().tolist()[0])]  # noqa: E731

            def scatter3d(args, kwargs, result):
                c = kwargs.get("cmap")
                if c is not None:
                    return [("axes3d/scatter_3d", c if isinstance(c, str) else c.name, lambda o, i: [i], result)]
                found = [to_hex(f) for f in result.get_facecolors().tolist()]
                return [("axes3d/scatter_3d", found[-1], lambda o, _c: [to_hex(f) for f in o.get_facecolors().tolist()],
                         result)] if found else []

            def surface(args, kwargs, result):
                c = kwargs.get("cmap")
                if c is not None:
                    return [("axes3d/plot_surface_3d", c if isinstance(c, str) else c.name, lambda o, i: [i], result)]
                return [("axes3d/plot_surface_3d", first_face(result, "")[0], first_face, result)]

            self.wrap(Axes3D, "scatter", "axes3d-scatter", scatter3d)
            self.wrap(Axes3D, "plot", "axes3d-plot", lambda a, k, r: [
                ("axes3d/plot_3d", to_hex(ln.get_color()), lambda o, _c: [to_hex(o.get_color())], ln) for ln in r])
            self.wrap(Axes3D, "plot_surface", "axes3d-plot_surface", surface)
            self.wrap(Axes3D, "bar3d", "axes3d-bar3d", lambda a, k, r: [
                ("axes3d/bar3d_3d", first_face(r, "")[0], first_face, r)])
            self.wrap(Axes3D, "bar", "axes3d-bar", lambda a, k, r: [
                ("axes3d/bar_3d", to_hex(p.get_facecolor()), lambda o, _c: [to_hex(o.get_facecolor())], p) for p in r])
            self.wrap(Axes3D, "add_collection3d", "axes3d-add_collection3d", lambda a, k, r: [
                ("axes3d/add_collection3d_3d", f, lambda o, _c: [to_hex(x) for x in o.get_facecolors().tolist()], r)
                for f in [to_hex(x) for x in r.get_facecolors().tolist()][-1:]])
        except ImportError:
            pass

    def _wrap_networkx(self) -> None:
        try:
            import networkx as nx
            import networkx.drawing.nx_pylab as nx_pylab

            def nodes(a, k, r):
                found = [to_hex(f) for f in r.get_facecolors().tolist()]
                return [("nx_pylab/draw_networkx_nodes", found[-1],
                         lambda o, _c: [to_hex(f) for f in o.get_facecolors().tolist()], r)] if found else []

            def edges_of(o, _c):
                if isinstance(o, list):
                    return [to_hex(p.get_facecolor()) for p in o]
                return [to_hex(e) for e in o.get_edgecolors().tolist()]

            def net_edges(a, k, r):
                found = edges_of(r, "")
                return [("nx_pylab/draw_networkx_edges", found[-1], edges_of, r)] if found else []

            def labels(a, k, r):
                return [("nx_pylab/draw_networkx_labels", to_hex(t.get_color()),
                         lambda o, _c: [to_hex(o.get_color())], t) for t in r.values()]

            for owner in (nx_pylab, nx):
                self.wrap(owner, "draw_networkx_nodes", "nx_pylab-draw_networkx_nodes", nodes)
                self.wrap(owner, "draw_networkx_edges", "nx_pylab-draw_networkx_edges", net_edges)
                self.wrap(owner, "draw_networkx_labels", "nx_pylab-draw_networkx_labels", labels)
        except ImportError:
            pass

    def _wrap_squarify(self) -> None:
        try:
            import squarify

            def tiles(a, k, ax):
                return [("squarify/plot_squarify", to_hex(list(p.get_facecolor())),
                         lambda o, _c: [to_hex(list(o.get_facecolor()))], p) for c in ax.containers for p in c]

            self.wrap(squarify, "plot", "squarify-plot", tiles)
        except ImportError:
            pass

    def _wrap_venn(self) -> None:
        try:
            from matplotlib_venn._common import VennDiagram

            def venn(a, k, r):
                found = [to_hex(p.get_facecolor()) for p in a[0].patches if p is not None]
                return [("_common/__init__", found[-1],
                         lambda o, _c: [to_hex(p.get_facecolor()) for p in o.patches if p is not None], a[0])] if found else []

            self.wrap(VennDiagram, "__init__", "_common-__init__", venn)
        except ImportError:
            pass

    # -- collecting -----------------------------------------------------------------------------

    def colors(self) -> list[str]:
        """``group--colour`` strings, each once, colours re-read from the objects as they ended."""
        found: set[str] = set()
        for (group, initial), (final, obj) in self.objects.items():
            try:
                for color in final(obj, initial):
                    if color is not None:
                        found.add(f"{group}--{color}")
            except Exception:  # noqa: BLE001 - an object the script broke contributes nothing
                continue
        return sorted(found)[:MAX_ITEMS]

    @staticmethod
    def layout(figure) -> list[list[int]]:
        """Grid geometry and span of every axes placed on a grid (others are skipped, as officially)."""
        cells = []
        for ax in figure.axes:
            spec = ax.get_subplotspec()
            if spec is None:
                continue
            nrows, ncols = spec.get_gridspec().get_geometry()
            cells.append([nrows, ncols, spec.rowspan.start, spec.rowspan.stop - 1, spec.colspan.start, spec.colspan.stop - 1])
        return cells[:MAX_ITEMS]

    @staticmethod
    def texts(figure) -> list[str]:
        """Strings the PDF backend is asked to draw once every axes has lost its ticks."""
        from matplotlib.backends.backend_pdf import RendererPdf

        drawn: list[str] = []
        original = RendererPdf.draw_text

        def note(renderer, gc, x, y, s, *args, **kwargs):
            if len(drawn) < MAX_ITEMS:
                drawn.append(str(s)[:MAX_TEXT])
            return original(renderer, gc, x, y, s, *args, **kwargs)

        for ax in figure.get_axes():
            ax.set_xticks([])
            ax.set_yticks([])
        RendererPdf.draw_text = note
        try:
            figure.savefig(io.BytesIO(), format="pdf")
        finally:
            RendererPdf.draw_text = original
        return drawn

    def collect(self, figure) -> str:
        trace = {"types": dict(sorted(self.types.items())[:MAX_ITEMS]), "colors": self.colors(),
                 "layout": self.layout(figure), "axes": len(figure.axes), "texts": self.texts(figure)}
        text = json.dumps(trace)
        if len(text) > MAX_TRACE_BYTES:
            trace["texts"] = trace["texts"][:200]
            trace["colors"] = trace["colors"][:200]
            text = json.dumps(trace)
        return text[:MAX_TRACE_BYTES]


TRACERS = {"chartmimic": Recorder}
