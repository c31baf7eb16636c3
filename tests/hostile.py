"""Helpers for tests of host-side parsers on hostile input: the fuzz budget, and a time bound.

``fuzz``: the Hypothesis settings of every host-side property test, shared so ``make test`` stays
quick -- derandomised (the same examples every run, no database written), 200 examples, and a
per-example deadline, so a parser that turns slow on some input fails as a too-slow example. Raise
the budget locally (``HYPOTHESIS_MAX_EXAMPLES=20000``) for a longer hunt; a crasher found that way
is kept as an explicit test beside the property.

``finishes``: runs a snippet in a fresh interpreter under a generous wall-clock bound. It asserts
an order of growth, not a speed: each input it is used with took minutes to hours before the
matching became linear (figures in the tests), and takes milliseconds now.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
fuzz = settings(max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", 200)), deadline=timedelta(milliseconds=500),
                derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


def finishes(snippet: str, seconds: float = 10.0) -> str:
    """The stdout of ``snippet`` run with the project on ``sys.path``; fails if it runs past ``seconds``."""
    try:
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=seconds, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after {seconds} s: {snippet[:200]!r}") from None
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
