"""A pipeline step is an object: a name, the resources it declares, ``setup`` / ``__call__`` / ``teardown``.

Every pass of a build is a list of steps run in order over one ``Work`` (the items flowing through
it and the ``Stats`` they are counted in). A ``Filter`` is a step that answers a verdict per item
(``core.verdicts``); its base class, in ``Filter.keep``, is the one place where a step's ``in``,
``out`` and drops are counted and its exclusion records kept -- unit steps (licence, code, render,
image, refine, perturb) and global steps over all rows (dedup, decontamination, optimize placement)
alike. A filter may override ``verdicts`` to judge a whole batch at once (render it, search it for
near pairs) and ``__call__`` to shape items before and after; it never counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Protocol, Sequence

from .errors import Rejected
from .stats import Stats
from .verdicts import Drop, Verdict, drop_of


@dataclass(frozen=True)
class StepResources:
    """What a step needs where it runs beyond the runner's own thread: whether it sends work to the warm
    render service (the runner hands the service to exactly these steps; CPUs and memory per render are
    the renderers' own declaration, in ``filters/render``)."""

    renders: bool = False


class Work(Protocol):
    items: list
    stats: Stats


class Step:
    """One named step of a pass. ``setup`` runs once where the pass runs, before any work (``service``
    is the warm render service when ``resources.renders``); ``teardown`` once after the last."""

    name: ClassVar[str] = ""
    resources: ClassVar[StepResources] = StepResources()

    @classmethod
    def from_manifest(cls, manifest: Any) -> "Step":
        """The step as a build's manifest configures it (a subclass reads the fields it needs)."""
        return cls()

    def setup(self, service: Any = None) -> None:
        self.service = service

    def __call__(self, work: Work) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        self.service = None

    def __getstate__(self) -> dict:
        """Shipped to where a pass runs without the render service (it is set up there)."""
        return {**self.__dict__, "service": None}


class Filter(Step):
    """A step that keeps or drops each item; the base class counts and records, the subclass judges.

    Subclasses give ``verdict(item)`` (or ``verdicts(items)`` for a batch); ``excluded(item)`` is what
    an exclusion record is made of (a raw sample, a record, a ``RowAt``) and ``image(item)`` the render
    it shows; ``judged`` may observe each item's outcome (metrics, per-kind tallies).
    """

    def verdict(self, item: Any) -> Verdict:
        raise NotImplementedError

    def verdicts(self, items: Sequence[Any]) -> Iterable[Verdict]:
        """One verdict per item, in order; a check a bounded parser refuses drops that item alone."""
        return (guarded(self.verdict, item) for item in items)

    def excluded(self, item: Any) -> Any:
        return item

    def image(self, item: Any) -> bytes | None:
        return None

    def judged(self, item: Any, drop: Drop | None, stats: Stats) -> None:
        """Seen once per item after its verdict (``drop`` is ``None`` for a kept item): not a count."""

    def __call__(self, work: Work) -> None:
        work.items = self.keep(work.items, work.stats)

    def keep(self, items: Sequence[Any], stats: Stats) -> list:
        """The items this filter keeps; the one place a step's ``in``, ``out`` and drops are counted."""
        kept = []
        for item, verdict in zip(items, self.verdicts(items)):
            lang = item.lang
            stats.add(self.name, lang, "in")
            drop = drop_of(verdict)
            self.judged(item, drop, stats)
            if drop is None:
                stats.add(self.name, lang, "out")
                kept.append(item)
            else:
                image = drop.image if drop.image is not None else self.image(item)
                stats.drop(self.name, lang, drop.reason, self.excluded(item), error=drop.error, image=image,
                           **drop.detail)
        return kept


def guarded(check, item: Any) -> Verdict:
    """``check(item)``, where a ``Rejected`` (a bounded host-side parser refusing untrusted input) or a
    parser running out of stack or memory on this one item is this item's drop, with the reason."""
    try:
        return check(item)
    except Rejected as exc:
        return Drop(exc.reason, str(exc))
    except (RecursionError, MemoryError) as exc:  # the safety net under a parser that is not bounded yet
        return Drop("check_failed", f"{type(exc).__name__} while checking this sample")


def count_made(stage: str, items: Iterable[Any], stats: Stats) -> None:
    """A step that makes items (a harvest) counts each as its ``out``: here, beside the filters' counting."""
    for item in items:
        stats.add(stage, item.lang, "out")

