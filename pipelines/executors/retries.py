"""The one failure policy of every executor: a unit that fails on its own (its work raised) is run again
up to ``retries`` times; one that keeps failing is set aside while the others finish, and the build then
stops naming each such unit and its cause. Finished units stay on disk, so running the build again resumes.

A unit that was *lost* (the Ray actor running it, or that actor's node, went away) did not fail: it runs
again elsewhere and ``retries`` is not touched. Only a unit lost ``LOSSES`` times is set aside: that many
deaths under one unit say its work takes its own process down (memory, a crash in native code) rather than
that it met a lost machine, which a single unit does once in a blue moon."""
from __future__ import annotations

from collections import Counter

from core.errors import BuildError

LOSSES = 5


class UnitFailed(BuildError):
    """Units that kept failing after their retries; the message names each unit and its error."""


def _line(unit, error: BaseException) -> str:
    first_line = (str(error).splitlines() or [""])[0][:300]
    return f"{unit.name}: {type(error).__name__}: {first_line}"


class Retries:
    def __init__(self, retries: int, losses: int = LOSSES) -> None:
        self.retries, self.losses = retries, losses
        self.attempts: Counter = Counter()
        self.lost_count: Counter = Counter()
        self.failures: list[tuple[str, str]] = []

    def again(self, unit, error: BaseException) -> bool:
        """Record that ``unit`` failed on its own; ``True`` when it should run once more."""
        self.attempts[unit] += 1
        if self.attempts[unit] <= self.retries:
            return True
        self.failures.append((_line(unit, error), f"failed {self.attempts[unit]} times"))
        return False

    def lost(self, unit, error: BaseException) -> bool:
        """Record that ``unit`` was lost with its actor or node; ``True`` when it should run once more."""
        self.lost_count[unit] += 1
        if self.lost_count[unit] < self.losses:
            return True
        self.failures.append((_line(unit, error), f"its actor died under it {self.lost_count[unit]} times"))
        return False

    def raise_failures(self) -> None:
        """One line that names the first failed unit and its cause (the CLI's ``error:`` line), then the others."""
        if not self.failures:
            return
        (first, why), *others = self.failures
        head = f"unit {first}" if not others else f"{len(self.failures)} units failed; the first: {first}"
        raise UnitFailed(f"{head} ({why}; finished units are kept, re-run to resume)"
                         + "".join(f"\n  {line} ({reason})" for line, reason in others))
