"""A Python sample can return what it drew (``chart_trace``) beside its picture; the trace is the
sample's own output and is checked as untrusted on its way out."""
from __future__ import annotations

import json

import pytest

from filters.render.pool import RenderService

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

CHART = """
import matplotlib.pyplot as plt
fig, axs = plt.subplots(1, 2, figsize=(5, 2.5))
axs[0].bar(["a", "b"], [1, 2], color=["#1F77B4", "green"])
axs[0].hist([1, 2, 2, 3], color="orange")
axs[0].set_title("Left")
axs[1].plot([1, 2], [2, 1], color="tab:red", label="line")
axs[1].legend()
plt.savefig("x.pdf")
"""


@pytest.fixture(scope="module")
def service():
    with RenderService(timeout_s=20) as svc:
        yield svc


def test_trace_records_texts_layout_calls_and_colours(service):
    traced = service.render_many([("python", CHART)], trace="chartmimic")[0]
    plain = service.render_many([("python", CHART)])[0]
    assert traced.ok and plain.ok and plain.trace is None
    assert traced.png == plain.png, "tracing does not change the picture"
    trace = json.loads(traced.trace)
    assert trace["texts"] == ["Left", "line"]  # tick labels removed, as ChartMimic's text metric wants
    assert trace["layout"] == [[1, 2, 0, 0, 0, 0], [1, 2, 0, 0, 1, 1]]
    assert trace["types"] == {"_axes-bar": 1, "_axes-hist": 1, "_axes-plot": 1}  # hist's own bars are not counted
    assert trace["colors"] == ["_axes/bar--#008000", "_axes/bar--#1F77B4", "_axes/hist--#FFA500", "_base/_makeline--#D62728"]


def test_the_next_sample_finds_the_worker_unchanged(service):
    before = service.render_many([("python", CHART)])[0]
    service.render_many([("python", CHART)], trace="chartmimic")
    after = service.render_many([("python", CHART)])[0]
    assert before.png == after.png and after.trace is None


def test_a_forged_oversized_trace_fails_the_sample(service):
    forged = CHART + "import filters.render.chart_trace as t\nt.Recorder.collect = lambda self, fig: 'x' * (300 << 10)\n"
    result = service.render_many([("python", forged)], trace="chartmimic")[0]
    assert not result.ok and "malformed trace" in result.message
    assert service.render_many([("python", CHART)], trace="chartmimic")[0].ok


def test_requests_a_renderer_cannot_serve_are_unsupported(service):
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="10" height="10"/></svg>'
    assert service.render_many([("svg", svg)], trace="chartmimic")[0].error_kind == "unsupported"
    assert service.render_many([("python", CHART)], trace="nope")[0].error_kind == "unsupported"
    assert service.render_many([("python", CHART, None, {"width": 64, "height": 64})])[0].error_kind == "unsupported"
    half = service.render_many([("svg", svg, None, {"width": 0, "height": 64})])[0]
    assert half.error_kind == "unsupported" and "width and height are set together" in half.message
    sized = service.render_many([("svg", svg, None, {"width": 336, "height": 336})])[0]
    assert sized.ok and (sized.width, sized.height) == (336, 336)
