"""Library drift shims: calls that real chart code of 2023-24 makes and today's libraries removed.

Installed once in the python worker before it forks, so every sample finds them. Each shim only
fills a name the library no longer has, or maps a keyword it renamed, with the library's own
replacement -- the picture is the one the old version drew. Measured on ChartMimic's 499
ground-truth scripts (README "Fidelity"): without them 7 fail (``matplotlib.cm.get_cmap`` x2,
``Axes.boxplot(labels=)`` x2, ``DataFrame.applymap`` x1, numpy 2's ``float()`` of a 1-element
array x2). The alternative, a render environment pinned at the scripts' own versions, would be a
second interpreter tree for the sandbox and forgo today's fixes; these four names cost nothing.
"""
from __future__ import annotations

import functools
import inspect


def install_drift_shims() -> None:
    _cm_get_cmap()
    _boxplot_labels()
    _dataframe_applymap()
    _float_of_one_element_array()


def _cm_get_cmap() -> None:
    """``matplotlib.cm.get_cmap`` (removed in 3.9): the registry's colormap, resampled to ``lut``."""
    import matplotlib
    import matplotlib.cm
    from matplotlib.colors import Colormap

    if hasattr(matplotlib.cm, "get_cmap"):
        return

    def get_cmap(name=None, lut=None):
        cmap = name if isinstance(name, Colormap) else matplotlib.colormaps[name or matplotlib.rcParams["image.cmap"]]
        return cmap.resampled(lut) if lut is not None else cmap

    matplotlib.cm.get_cmap = get_cmap


def _boxplot_labels() -> None:
    """``Axes.boxplot(labels=...)`` (renamed ``tick_labels`` in 3.9, removed in 3.11)."""
    from matplotlib.axes import Axes

    original = Axes.boxplot
    if "labels" in inspect.signature(original).parameters:
        return

    @functools.wraps(original)
    def boxplot(self, *args, **kwargs):
        if "labels" in kwargs and "tick_labels" not in kwargs:
            kwargs["tick_labels"] = kwargs.pop("labels")
        return original(self, *args, **kwargs)

    Axes.boxplot = boxplot


def _dataframe_applymap() -> None:
    """``DataFrame.applymap`` (removed in pandas 3): ``DataFrame.map``. Needs pandas imported, which
    the worker pays once (its children inherit it)."""
    try:
        import pandas
    except ImportError:
        return
    if not hasattr(pandas.DataFrame, "applymap"):
        pandas.DataFrame.applymap = pandas.DataFrame.map


def _float_of_one_element_array() -> None:
    """numpy 2 refuses ``float()`` of an array with ``ndim > 0``; matplotlib calls it on a text's position
    (``text.py``: ``float(self.convert_xunits(x))``), so ``ax.annotate(s, (x, arr[mask]))`` with a
    1-element selection -- which numpy 1.x accepted -- fails at draw time. A text's unit conversion
    gives the element instead, the value numpy 1.x's ``float()`` took."""
    import numpy as np
    from matplotlib.text import Text

    def scalar_units(original):
        @functools.wraps(original)
        def convert(self, value):
            out = original(self, value)
            return out.item() if isinstance(out, np.ndarray) and out.ndim > 0 and out.size == 1 else out

        return convert

    for name in ("convert_xunits", "convert_yunits"):
        setattr(Text, name, scalar_units(getattr(Text, name)))
