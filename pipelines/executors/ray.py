"""Run build units on a Ray cluster: the same ``UnitRunner`` as the local executor, in actors.

Each actor holds one runner between its ``setup`` (a warm render service: sandboxed pools, one
worker per language) and ``teardown``; ``__call__`` runs one unit's steps and commits the unit file
to the shared ``--out`` folder. The driver keeps one unit in flight per actor (back-pressure: a fast
source cannot flood the object store) and applies the executors' one failure policy (``retries.py``);
an actor lost with its node or process is replaced and its unit run again, uncounted (``schedule``).
Actors are spread over the nodes, so a lost node takes the fewest units with it. Dedup, split and
the shard writing stay global steps in the driver.

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
import sys
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator

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

    def ready(self) -> bool:
        """Answers once ``setup`` is done: the driver hands units only to actors that answered."""
        return True

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


def fit(cfg, actors: int, cpus: float, nodes: list[float]) -> tuple[int, float]:
    """Actors and CPUs per actor that live nodes of ``nodes`` CPUs each can place: what the manifest sets is
    kept; the declared defaults shrink to the nodes (no actor may wait for CPUs that never come)."""
    if not nodes:
        return actors, cpus
    if cfg.actor_cpus is None:
        cpus = min(cpus, max(nodes))
    if cfg.actors == "auto":
        actors = max(1, min(actors, sum(int(n // cpus) for n in nodes)))
    return actors, cpus


def run_units(units: Iterable, runner, workers: int, retries: int) -> Iterator[tuple[object, int]]:
    cfg = runner.manifest.ray
    actors_n = max(1, workers if cfg.actors == "auto" else cfg.actors)
    actor_cpus = cfg.actor_cpus or render_cpus(cfg.workers_per_language)
    ray = connect(max(workers, math.ceil(actors_n * actor_cpus)))  # a local cluster holds every actor it starts
    nodes = [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")]
    actors_n, actor_cpus = fit(cfg, actors_n, actor_cpus, nodes)
    # No restarts by Ray: the driver replaces a lost actor itself (see ``schedule``).
    options = {"num_cpus": actor_cpus, "max_restarts": 0, "max_task_retries": 0, "scheduling_strategy": "SPREAD"}
    if cfg.actor_memory_mb:
        options["memory"] = cfg.actor_memory_mb * 2**20
    runner = copy.copy(runner)
    runner.render_workers = cfg.workers_per_language
    remote = ray.remote(**options)(UnitActor)
    yield from schedule(units, ray, lambda: remote.remote(runner), actors_n, Retries(retries))


def schedule(units: Iterable, ray, start_actor: Callable[[], object], actors_n: int,
             policy: Retries) -> Iterator[tuple[object, int]]:
    """Yield ``(unit, rows kept)`` as units finish on ``actors_n`` actors, one unit in flight per actor.

    An actor gets units once it answered ``ready``. A unit whose call raised from its own work counts
    against ``retries``; a unit whose actor died or became unreachable (its process or node gone) is
    *lost*: the actor is killed for good and a fresh one started, which Ray places on a node with room,
    and the unit goes back to the queue without counting (``Retries.lost``). The driver does this rather
    than Ray's own restarts because only it can tell the two apart: Ray's task retries re-run a lost
    call out of sight, with a restart budget per actor, not per unit, and once an actor's restarts are
    spent every unit sent to it fails (a lost node then stopped the build after 3 tries on a dead actor).
    """
    lost_types = (ray.exceptions.RayActorError,)
    queue = deque(units)
    starting: dict = {}  # ready call -> actor not yet ready
    running: dict = {}  # unit call -> (unit, actor)
    free: list = []

    def start() -> None:
        actor = start_actor()
        starting[actor.ready.remote()] = actor

    for _ in range(actors_n):
        start()
    try:
        while queue or running:
            while queue and free:
                unit, actor = queue.popleft(), free.pop()
                running[actor.__call__.remote(unit)] = (unit, actor)
            ref = ray.wait([*running, *starting], num_returns=1)[0][0]
            if ref in starting:
                actor = starting.pop(ref)
                try:
                    ray.get(ref)
                except lost_types as exc:
                    ray.kill(actor, no_restart=True)
                    if exc.actor_init_failed:
                        raise BuildError(f"a Ray actor could not set up its runner: {_last_line(exc)}") from None
                    start()
                    continue
                free.append(actor)
                continue
            unit, actor = running.pop(ref)
            try:
                kept = ray.get(ref)
            except lost_types as exc:
                ray.kill(actor, no_restart=True)
                start()
                if policy.lost(unit, exc):
                    _warn(f"unit {unit.name} lost with its Ray actor ({type(exc).__name__}); running it again")
                    queue.appendleft(unit)
                if not running and not free:
                    _warn(f"no live Ray actor left: waiting for {len(starting)} new ones to start")
                continue
            except ray.exceptions.RayError as exc:
                free.append(actor)
                if policy.again(unit, getattr(exc, "cause", None) or exc):
                    queue.append(unit)
                continue
            free.append(actor)
            yield unit, kept
    except BaseException:  # Ctrl-C: kill the actors now; a unit commits by rename, so none is half-written
        for actor in [*free, *starting.values(), *(actor for _, actor in running.values())]:
            ray.kill(actor, no_restart=True)
        raise
    closing = [actor.close.remote() for actor in free]
    if closing:
        ray.wait(closing, num_returns=len(closing), timeout=30)
    for actor in [*free, *starting.values()]:
        ray.kill(actor, no_restart=True)
    policy.raise_failures()


def _warn(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {line}", file=sys.stderr)


def _last_line(exc: BaseException) -> str:
    """The last line of Ray's message: the exception the actor's ``__init__`` raised, ``Type: message``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines or [type(exc).__name__])[-1][:300]
