"""What the pool reports beside the picture: the CPU a render cost, counted where the work happened."""
from __future__ import annotations

import pytest

from tests.conftest import render_one

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

SPIN = """import time, matplotlib.pyplot as plt
t = time.process_time()
while time.process_time() - t < {seconds}:
    pass
plt.plot([0, 1], [0, 1])
"""


def test_a_render_reports_its_cpu_including_what_it_spent_in_the_sandbox(service):
    quick = render_one(service, "python", SPIN.format(seconds=0.0))
    slow = render_one(service, "python", SPIN.format(seconds=0.6))
    assert quick.ok and slow.ok, (quick.message, slow.message)
    assert slow.cpu_s >= 0.55 and slow.cpu_s - quick.cpu_s >= 0.5, (quick.cpu_s, slow.cpu_s)


@pytest.mark.needs_chromium
def test_a_page_render_counts_the_browser_processes(service):
    page = render_one(service, "html", "<html><body><h1>Cost</h1><p>" + "text " * 400 + "</p></body></html>")
    assert page.ok and page.cpu_s > 0.0
