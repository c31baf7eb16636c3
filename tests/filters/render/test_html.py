"""The HTML renderer's capture: drawn from the viewport's own frame where that gives the same pixels."""
from __future__ import annotations

import pytest

from filters.render import html
from filters.render.html import HtmlRenderer, beyond_viewport

VIEWPORT = {"width": 1024, "height": 768}
FITS = ("<html><body style='margin:0;background:#abc'><h1 style='font:40px serif'>fits</h1><input autofocus>"
        "<div style='width:200px;height:200px;background:linear-gradient(#f00,#00f);border-radius:40px'></div></body></html>")
SCROLLED = ("<html><body style='margin:0'>" + "".join(f"<div style='height:100px;background:hsl({i * 20},70%,50%)'>{i}</div>"
                                                      for i in range(40)) + "<script>scrollTo(0, 500)</script></body></html>")


def test_only_a_full_page_capture_of_a_page_that_fits_stays_within_the_viewport():
    assert not beyond_viewport([1024, 768], VIEWPORT, full_page=True)
    assert not beyond_viewport([300, 20], VIEWPORT, full_page=True)
    assert beyond_viewport([1024, 769], VIEWPORT, full_page=True)
    assert beyond_viewport([1500, 700], VIEWPORT, full_page=True)
    assert beyond_viewport([1024, 768], VIEWPORT, full_page=False)  # it may have scrolled: the top is drawn
    assert beyond_viewport(None, VIEWPORT, full_page=True)  # not measured: nothing known about it
    assert beyond_viewport(["1", 2], VIEWPORT, full_page=True)


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_a_capture_within_the_viewport_draws_the_bytes_a_capture_beyond_it_draws(tmp_path, monkeypatch):
    renderer = HtmlRenderer()
    renderer.setup()
    try:
        cases = [(FITS, True), (FITS, False), (SCROLLED, True), (SCROLLED, False)]
        chosen = [renderer.render(code, str(tmp_path), 10, {"full_page": full}) for code, full in cases]
        monkeypatch.setattr(html, "beyond_viewport", lambda *_: True)
        always = [renderer.render(code, str(tmp_path), 10, {"full_page": full}) for code, full in cases]
    finally:
        renderer.teardown()
    assert chosen == always
    assert chosen[0] != chosen[2]
