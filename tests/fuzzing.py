"""The budget of the host-side fuzz tests (Hypothesis), shared so ``make test`` stays quick.

Derandomised (the same examples every run, no database written), 200 examples each, and a
per-example deadline: a parser that turns slow on some input fails here as a too-slow example.
Raise ``max_examples`` locally (``HYPOTHESIS_MAX_EXAMPLES=20000``) for a longer hunt; a crasher
found that way is kept as an explicit test beside the property.
"""
from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

fuzz = settings(max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", 200)), deadline=timedelta(milliseconds=500),
                derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
