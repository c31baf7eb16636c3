"""Run build units on this machine: the runner's warm render service, a thread per unit in flight."""
from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Iterable, Iterator

from .retries import Retries


def run_units(units: Iterable, runner, workers: int, retries: int) -> Iterator[tuple[object, int]]:
    """Yield ``(unit, rows kept)`` as units finish, at most ``workers`` in flight (bounded memory)."""
    policy = Retries(retries)
    queue = deque(units)
    runner.setup()
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="unit")
    try:
        pending: dict = {}
        while queue or pending:
            while queue and len(pending) < max(1, workers):
                unit = queue.popleft()
                pending[pool.submit(runner, unit)] = unit
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                unit = pending.pop(fut)
                error = fut.exception()
                if error is None:
                    yield unit, fut.result()
                elif policy.again(unit, error):
                    queue.append(unit)
    except BaseException:  # Ctrl-C (or the consumer gone): stop now, commit nothing more, wait for nothing
        runner.abort()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    runner.teardown()
    policy.raise_failures()
