"""The benchmarks ``vinci eval --benchmark`` knows: one name, one module each."""
from __future__ import annotations

from importlib import import_module

from .base import BenchmarkError

BENCHMARKS = {
    "chartmimic": "training.benchmarks.chartmimic:ChartMimic",
    "chemdraw": "training.benchmarks.chemdraw:ChemDraw",
    "design2code": "training.benchmarks.design2code:Design2Code",
    "image2latex": "training.benchmarks.image2latex:Image2Latex",
    "unisvg": "training.benchmarks.unisvg:UniSVG",
}


def get(name: str):
    """An instance of the named benchmark (imported on use: each pulls in only what it needs)."""
    if name not in BENCHMARKS:
        raise BenchmarkError(f"no benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    module, cls = BENCHMARKS[name].split(":")
    return getattr(import_module(module), cls)()
