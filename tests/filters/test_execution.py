from __future__ import annotations

import pytest

from core.stats import Stats
from filters.execution import card_section, count_missing_modules, missing_modules, render_job, render_samples
from sources.base import RawSample


@pytest.mark.renders
def test_a_missing_module_is_counted_by_name_for_stats_and_card(service):
    samples = [RawSample("python", f"import {name}\nimport matplotlib.pyplot as plt\nplt.plot([1])\n", "dir:x", f"{i}.py", "MIT")
               for i, name in enumerate(["squarify_of_2030", "squarify_of_2030.sub", "numpy"])]
    rendered = render_samples(samples, service)
    assert [r.result.error_kind for r in rendered] == ["missing_module", "missing_module", None]
    stats = Stats()
    count_missing_modules(rendered, stats)
    assert missing_modules(stats) == {"squarify_of_2030": 2}
    assert Stats.from_dict(stats.to_dict()).count("execution", "python", "missing_module:squarify_of_2030") == 2
    assert "| `squarify_of_2030` | 2 |" in card_section(stats)
    assert card_section(Stats()) == ""


def test_a_sample_renders_with_its_files_and_conventions():
    meta = {"files": {"rick.jpg": b"\xff"}, "render": {"viewport_width": 1280}, "kind": "page"}
    assert render_job("html", "<p>x</p>", meta) == ("html", "<p>x</p>", {"rick.jpg": b"\xff"}, {"viewport_width": 1280})


def test_a_missing_tex_package_is_counted_like_a_module(service):
    """5 of janosh/tikz's 112 documents need a package this TeX installation lacks (siunitx ×3, ...)."""
    doc = ("\\documentclass{standalone}\n\\usepackage{tikz}\n\\usepackage{vinci-no-such-package}\n"
           "\\begin{document}\\tikz\\draw (0,0) -- (1,1);\\end{document}\n")
    (r,) = render_samples([RawSample("latex", doc, "dir:x", "a.tex", "MIT")], service)
    assert (r.result.error_kind, r.result.message) == ("missing_module", "LaTeX Error: File `vinci-no-such-package.sty' not found")
    stats = Stats()
    count_missing_modules([r], stats)
    assert stats.count("execution", "latex", "missing_module:vinci-no-such-package") == 1
