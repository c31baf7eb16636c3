"""Run build units on this machine: one warm render service, a thread per unit in flight."""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Iterable, Iterator


def run_units(units: Iterable, runner, workers: int) -> Iterator[tuple[object, int]]:
    """Yield ``(unit, rows kept)`` as units finish, at most ``workers`` in flight (bounded memory)."""
    from filters.render import RenderService

    with RenderService(workers=workers, timeout_s=runner.manifest.render.timeout_s) as service:
        pending = {}
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="unit") as pool:
            for unit in units:
                pending[pool.submit(runner, unit, service)] = unit
                if len(pending) >= workers:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield pending.pop(fut), fut.result()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
