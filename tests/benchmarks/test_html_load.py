"""The full-load HTML benchmark counts every process behind a page: the worker, node and Chromium's."""
from __future__ import annotations

import pytest

from benchmarks.html_load import ROOT, run_tree, source_name


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_a_run_counts_the_cpu_of_each_process_kind_behind_its_pages():
    got = run_tree(ROOT, source_name(), 3, 1)
    assert got["ok"] == 3 and len(set(got["digests"])) == 3
    for kind in ("python worker", "node driver", "browser", "renderer"):
        assert got["kinds"].get(kind, 0.0) > 0.0, (kind, got["kinds"])
    assert got["cpu"] >= 0.9 * sum(got["kinds"].values()) > 0.0  # whatever counted it, every process is in
