"""A wall-clock training budget: stop after ``minutes`` (saved and resumable like any stop at a step)."""
from __future__ import annotations

import time

from transformers import TrainerCallback


class TimeBudget(TrainerCallback):
    """Asks the Trainer to stop at the first step end past the budget; benchmarks train "for N minutes"."""

    def __init__(self, minutes: float):
        self.seconds = minutes * 60
        self.started: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if self.started is not None and time.monotonic() - self.started >= self.seconds:
            control.should_training_stop = True
            control.should_save = True
        return control


def budget_callbacks(minutes: float | None) -> list:
    return [TimeBudget(minutes)] if minutes else []
