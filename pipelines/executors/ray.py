"""Run build units on a Ray cluster: the same ``UnitRunner`` as the local executor, in actors.

Each actor's ``__init__`` starts a warm render service (sandboxed pools, one worker per language);
``__call__`` runs one unit through harvest → execution filter → quality → perturb and commits the
unit file to the shared ``--out`` folder. The driver keeps at most ``2 × actors`` units in flight
(back-pressure: a fast source cannot flood the object store), retries a failed unit a bounded
number of times and then stops with every failure and its reason; finished units stay on disk,
so re-running resumes. Dedup, split and the shard writing stay global steps in the driver.

Resources come from the manifest's ``ray`` section (actors, CPUs and memory per actor, render
workers per language in each actor, retries); CPUs per actor are fractional by default so actors
never starve the driver's tasks on small machines. ``RAY_ADDRESS`` (``auto``, ``HOST:PORT``) picks
the cluster; unset, a local one is started.
"""
from __future__ import annotations

import os
from typing import Iterable, Iterator


from pipelines.build import BuildError


class UnitFailed(BuildError):
    """Units that kept failing after their retries; the message names each unit and its error."""


def _actor_class(ray):
    class UnitActor:
        def __init__(self, runner, workers_per_language):
            from filters.render import RenderService

            self.runner = runner
            self.service = RenderService(workers=workers_per_language, timeout_s=runner.manifest.render.timeout_s)

        def __call__(self, unit) -> int:
            return self.runner(unit, self.service)

        def close(self) -> None:
            self.service.close()

    return UnitActor


def connect(workers: int):
    import ray

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     _node_ip_address="127.0.0.1")
    return ray


def run_units(units: Iterable, runner, workers: int) -> Iterator[tuple[object, int]]:
    ray = connect(workers)
    cfg = runner.manifest.ray
    max_retries = cfg.max_retries
    actors_n = max(1, workers if cfg.actors == "auto" else cfg.actors)
    options = {"num_cpus": cfg.actor_cpus, "max_restarts": max_retries, "max_task_retries": max_retries}
    if cfg.actor_memory_mb:
        options["memory"] = cfg.actor_memory_mb * 2**20
    remote = ray.remote(**options)(_actor_class(ray))
    actors = [remote.remote(runner, cfg.workers_per_language) for _ in range(actors_n)]
    queue = list(units)
    free = list(actors)
    in_flight: dict = {}
    attempts: dict = {}
    failures: list[str] = []
    try:
        while queue or in_flight:
            while queue and free and len(in_flight) < 2 * len(actors):
                unit, actor = queue.pop(0), free.pop()
                in_flight[actor.__call__.remote(unit)] = (unit, actor)
            done, _ = ray.wait(list(in_flight), num_returns=1)
            ref = done[0]
            unit, actor = in_flight.pop(ref)
            free.append(actor)
            try:
                yield unit, ray.get(ref)
            except ray.exceptions.RayError as exc:
                attempts[unit] = attempts.get(unit, 0) + 1
                if attempts[unit] <= max_retries:
                    queue.append(unit)
                else:
                    cause = getattr(exc, "cause", None) or exc
                    failures.append(f"{unit.name}: {type(cause).__name__}: {str(cause).splitlines()[0][:300]}")
        if failures:
            raise UnitFailed(f"{len(failures)} unit(s) failed after {max_retries} retries (finished units are kept; "
                             "re-run to resume):\n" + "\n".join(failures))
    finally:
        for actor in actors:
            try:
                ray.get(actor.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001 - a dead actor has nothing left to close
                pass
            ray.kill(actor)
