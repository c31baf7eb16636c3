"""Run build units on a Ray cluster: the same ``UnitRunner`` as the local executor, in actors.

Each actor holds one runner between its ``setup`` (a warm render service: sandboxed pools, one
worker per language) and ``teardown``; ``__call__`` runs one unit's steps and commits the unit file
to the shared ``--out`` folder. The driver keeps at most ``2 × actors`` units in flight
(back-pressure: a fast source cannot flood the object store) and applies the executors' one
failure policy (``retries.py``). Dedup, split and the shard writing stay global steps in the driver.

Resources come from the manifest's ``ray`` section (actors, CPUs and memory per actor, render
workers per language in each actor); CPUs per actor default to what its render workers declare
(``filters.render.base.render_cpus``), so a node takes as many actors as its cores keep busy.
``RAY_ADDRESS`` (``auto``, ``HOST:PORT``) picks the cluster; unset, a local one is started.

Token authentication (on by default for clusters of Ray >= 2.59): Ray's client turns it on by itself
only for a cluster it finds locally, never for an explicit address, so ``--address HOST:PORT`` of such a
cluster failed with a ``ConnectionError``. Where ``RAY_AUTH_MODE`` is unset and a token is at hand
(``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``, Ray's own order), vinci connects
in token mode; a connection that still fails is one line saying what to set.
"""
from __future__ import annotations

import copy
import math
import os
from typing import Iterable, Iterator

from pathlib import Path

from core.errors import BuildError
from filters.render.base import render_cpus

from .retries import Retries

TOKEN_HINT = ("a cluster with token authentication (the default of `ray start --head` since Ray 2.59) needs "
              "RAY_AUTH_MODE=token and its token in RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token "
              "(`ray get-auth-token` on the head node prints it)")


class UnitActor:
    """Holds one runner between ``setup`` and ``teardown``: its warm render service lives in the actor."""

    def __init__(self, runner):
        self.runner = runner
        self.runner.setup()

    def __call__(self, unit) -> int:
        return self.runner(unit)

    def close(self) -> None:
        self.runner.teardown()


def token_at_hand() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or (Path.home() / ".ray" / "auth_token").is_file())


def connect(workers: int):
    address = os.environ.get("RAY_ADDRESS")
    if address and "RAY_AUTH_MODE" not in os.environ and token_at_hand():
        os.environ["RAY_AUTH_MODE"] = "token"  # before Ray is imported: it reads its config once
    import ray

    if not ray.is_initialized():
        if address:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                mode = os.environ.get("RAY_AUTH_MODE", "unset")
                raise BuildError(f"cannot connect to the Ray cluster at {address} ({type(exc).__name__}: {first}); "
                                 f"RAY_AUTH_MODE is {mode}: {TOKEN_HINT}") from None
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     _node_ip_address="127.0.0.1")
    return ray


def fit(cfg, actors: int, cpus: float, cluster_cpus: float) -> tuple[int, float]:
    """Actors and CPUs per actor that a cluster of ``cluster_cpus`` can place: what the manifest sets is
    kept; the declared defaults shrink to the cluster (no actor may wait for CPUs that never come)."""
    if cfg.actor_cpus is None and cluster_cpus:
        cpus = min(cpus, cluster_cpus)
    if cfg.actors == "auto" and cluster_cpus:
        actors = max(1, min(actors, int(cluster_cpus // cpus)))
    return actors, cpus


def run_units(units: Iterable, runner, workers: int, retries: int) -> Iterator[tuple[object, int]]:
    cfg = runner.manifest.ray
    actors_n = max(1, workers if cfg.actors == "auto" else cfg.actors)
    actor_cpus = cfg.actor_cpus or render_cpus(cfg.workers_per_language)
    ray = connect(max(workers, math.ceil(actors_n * actor_cpus)))  # a local cluster holds every actor it starts
    actors_n, actor_cpus = fit(cfg, actors_n, actor_cpus, ray.cluster_resources().get("CPU", 0.0))
    policy = Retries(retries)
    options = {"num_cpus": actor_cpus, "max_restarts": retries, "max_task_retries": retries}
    if cfg.actor_memory_mb:
        options["memory"] = cfg.actor_memory_mb * 2**20
    runner = copy.copy(runner)
    runner.render_workers = cfg.workers_per_language
    remote = ray.remote(**options)(UnitActor)
    actors = [remote.remote(runner) for _ in range(actors_n)]
    queue = list(units)
    free = list(actors)
    in_flight: dict = {}
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
                if policy.again(unit, getattr(exc, "cause", None) or exc):
                    queue.append(unit)
    except BaseException:  # Ctrl-C: kill the actors now; a unit commits by rename, so none is half-written
        for actor in actors:
            ray.kill(actor)
        raise
    for actor in actors:
        try:
            ray.get(actor.close.remote(), timeout=30)
        except Exception:  # noqa: BLE001 - a dead actor has nothing left to close
            pass
        ray.kill(actor)
    policy.raise_failures()
