"""The renderer base class and its declared resources: every renderer declares what it must, and the
pool, the worker and the Ray sizing read the one record (``Resources``)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from core.languages import LANGS
from filters.render.base import MODES, Canvas, Renderer, Resources, render_cpus, renderer_class, resolve_conventions
from filters.render.pool import WorkerProcess
from filters.render.sandbox import SampleLimits, detect_isolation


@pytest.mark.parametrize("lang", LANGS)
def test_every_renderer_is_a_renderer_with_its_resources(lang):
    cls = renderer_class(lang)
    assert issubclass(cls, Renderer) and cls.lang == lang and cls.mode in MODES
    assert isinstance(cls.resources, Resources) and isinstance(cls.resources.sample, SampleLimits)
    assert cls.resources.cpus > 0 and cls.resources.tasks > 0
    assert not any(hasattr(cls, old) for old in ("pids_max", "memory_max")), "resources live in one record"


def test_a_renderer_that_does_not_say_how_it_confines_a_sample_is_refused():
    with pytest.raises(TypeError, match="declares no mode"):
        type("Nameless", (Renderer,), {"lang": "x", "canvas": Canvas("c")})
    with pytest.raises(TypeError, match="mode is one of"):
        type("Loose", (Renderer,), {"lang": "x", "canvas": Canvas("c"), "mode": "thread"})


def test_conventions_valid_alone_but_not_together_are_refused():
    svg = renderer_class("svg")
    with pytest.raises(ValueError, match="set together"):
        resolve_conventions(svg, {"width": 336})
    assert resolve_conventions(svg, {"width": 336, "height": 200})["height"] == 200
    assert svg.canvas_prompt({"width": 336, "height": 200}) == "It is rendered stretched to exactly 336×200 px, on white."


def test_an_actor_reserves_the_cpus_of_its_busiest_language():
    assert render_cpus(1) == max(renderer_class(lang).resources.cpus for lang in LANGS)
    html = renderer_class("html").resources.cpus
    assert render_cpus({"python": 4}) == max(4 * renderer_class("python").resources.cpus, html)
    assert render_cpus(3) == 3 * html


def processes_with(worker: WorkerProcess, line: str) -> list[int]:
    found = []
    for pid in worker.cage.pids():
        try:
            limits = open(f"/proc/{pid}/limits").read()
        except OSError:
            continue
        if any(" ".join(row.split()).startswith(line) for row in limits.splitlines()):
            found.append(pid)
    return found


def test_the_worker_cage_and_its_sample_limits_come_from_the_declared_resources(monkeypatch):
    """The cage is made in this process (so a changed record shows); the rlimits in the worker, which
    imports its renderer itself, are the declared ones of a parsing renderer's worker."""
    cls = renderer_class("svg")
    declared = cls.resources.sample
    monkeypatch.setattr(cls, "resources", replace(cls.resources, tasks=23))
    worker = WorkerProcess("svg", detect_isolation()).wait_ready()
    try:
        pids_max = [p / "pids.max" for p in worker.cage.paths if (p / "pids.max").exists()]
        if not pids_max:
            pytest.skip("no writable pids cgroup here")
        assert pids_max[0].read_text().strip() == "23"
        assert not worker.cage.memory_limited, "svg declares no memory cap"
        held = f"Max address space {declared.address_space_bytes} {declared.address_space_bytes} bytes"
        files = f"Max open files {declared.open_files} {declared.open_files} files"
        size = f"Max file size {declared.file_size_bytes} {declared.file_size_bytes} bytes"
        assert processes_with(worker, held) and processes_with(worker, files) and processes_with(worker, size)
    finally:
        worker.close()
