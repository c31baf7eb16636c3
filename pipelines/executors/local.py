"""Run build units on this machine: a thread per concurrent unit, renders in the warm pools."""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_units(units: Iterable[T], fn: Callable[[T], R], workers: int) -> Iterator[tuple[T, R]]:
    """Yield ``(unit, fn(unit))`` as units finish, keeping at most ``workers`` in flight (bounded memory)."""
    pending = {}
    units = iter(units)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="unit") as pool:
        for unit in units:
            pending[pool.submit(fn, unit)] = unit
            if len(pending) >= workers:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()
