"""The page tree Design2Code's evaluator builds (BeautifulSoup's html.parser rules), and its writing back."""
from __future__ import annotations

from training.benchmarks.html_tree import Element, parse, serialize


def texts(node):
    return [(c.parent.name, c.value) for c in walk(node) if not isinstance(c, Element) and c.kind == "text"]


def walk(node):
    for child in node.children:
        yield child
        if isinstance(child, Element):
            yield from walk(child)


def test_no_implied_end_tags_and_an_end_tag_closes_its_nearest_open_element():
    root = parse("<body><p>a<div>b</p>c<span>d</i>e</span></body>")
    # </p> closes the div and the p together; </i> has no open <i> and is dropped
    assert texts(root) == [("p", "a"), ("div", "b"), ("body", "c"), ("span", "de")]


def test_void_elements_close_at_once_and_are_written_as_bs4_writes_them():
    """Attributes sorted, the doctype followed by a newline, blank runs collapsed (not in <pre>)."""
    page = ('<!doctype html><html><body>\n  <br><img src="rick.jpg" alt=\'say "hi"\'><p class=x>1 &lt; 2 &amp; 3</p>'
            '<pre>  </pre>  <!-- c --></body></html>')
    assert serialize(parse(page)) == ('<!DOCTYPE html>\n<html><body>\n<br/><img alt=\'say "hi"\' src="rick.jpg"/>'
                                      '<p class="x">1 &lt; 2 &amp; 3</p><pre>  </pre> <!-- c --></body></html>')


def test_script_and_style_bodies_are_kept_raw_and_count_as_text():
    root = parse("<body><script>if (a < b && c) {}</script><style>p>b{}</style></body>")
    assert serialize(root) == "<body><script>if (a < b && c) {}</script><style>p>b{}</style></body>"
    assert [t for _, t in texts(root)] == ["if (a < b && c) {}", "p>b{}"]
