"""The one failure policy of every executor: a unit that fails is run again up to ``retries`` times;
one that keeps failing is set aside while the others finish, and the build then stops naming each
such unit and its cause. Finished units stay on disk, so running the build again resumes."""
from __future__ import annotations

from collections import Counter

from core.errors import BuildError


class UnitFailed(BuildError):
    """Units that kept failing after their retries; the message names each unit and its error."""


class Retries:
    def __init__(self, retries: int) -> None:
        self.retries = retries
        self.attempts: Counter = Counter()
        self.failures: list[str] = []

    def again(self, unit, error: BaseException) -> bool:
        """Record a failure of ``unit``; ``True`` when it should run once more."""
        self.attempts[unit] += 1
        if self.attempts[unit] <= self.retries:
            return True
        first_line = (str(error).splitlines() or [""])[0][:300]
        self.failures.append(f"{unit.name}: {type(error).__name__}: {first_line}")
        return False

    def raise_failures(self) -> None:
        """One line that names the first failed unit and its cause (the CLI's ``error:`` line), then the others."""
        if not self.failures:
            return
        first, *others = self.failures
        head = f"unit {first}" if not others else f"{len(self.failures)} units failed; the first: {first}"
        raise UnitFailed(f"{head} (failed {self.retries + 1} times; finished units are kept, re-run to resume)"
                         + "".join(f"\n  {failure}" for failure in others))
