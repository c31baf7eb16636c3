"""Harvested strings written into Markdown and YAML stay text: checked with a CommonMark parser."""
from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from core.markup import LINE_BREAKS, front_matter, md_code, md_fence, md_text
from tests.hostile import fuzz

MD = MarkdownIt("commonmark").enable("table")
MARKUP = st.text(alphabet=st.sampled_from(list("#[]()<>!`*_|&;\\-=~:/ \nabc\u2028\t")) | st.characters(), max_size=80)


def inline(source: str) -> list:
    tokens = MD.parse(source)
    return [child for t in tokens if t.type == "inline" for child in t.children]


def test_each_kind_of_markup_is_written_as_text():
    hostile = "# h [l](http://x) <img src=http://x/b.png> **b** `c` &amp; | d"
    assert [(t.type, t.content) for t in inline(md_text(hostile))] == [("text", hostile)]
    assert [(t.type, t.content) for t in inline("x " + md_code(hostile))] == [("text", "x "), ("code_inline", hostile)]
    table = MD.render(f"| a |\n|---|\n| {md_code(hostile, table=True)} |\n")
    assert table.count("<td>") == 1 and "<img" not in table
    # a backslash before a pipe: some GFM renderers read "\\|" as an escaped backslash and a cell break
    breakout = md_code("x\\| [l](http://e) `", table=True)
    assert breakout == md_text("x\\| [l](http://e) `") and "\\\\\\|" in breakout  # each "\\" and "|" escaped
    assert [(t.type, t.content) for t in inline(breakout)] == [("text", "x\\| [l](http://e) `")]


@fuzz
@given(MARKUP)
def test_md_text_is_never_markup(value):
    children = inline("x " + md_text(value))
    assert {t.type for t in children} <= {"text"}
    assert "".join(t.content for t in children).rstrip() == ("x " + LINE_BREAKS.sub(" ", value)).rstrip()


@fuzz
@given(MARKUP)
def test_md_code_is_one_code_span_with_the_exact_text(value):
    children = inline("x " + md_code(value))
    assert [t.type for t in children] == ["text", "code_inline"]
    one_line = LINE_BREAKS.sub(" ", value)
    assert children[1].content == one_line or not one_line.strip(" ") and not children[1].content.strip(" ")


@fuzz
@given(MARKUP)
def test_md_code_in_a_table_stays_in_its_cell(value):
    html = MD.render(f"| a | b |\n|---|---|\n| {md_code(value, table=True)} | end |\n")
    assert html.count("<td>") == 2 and "<td>end</td>" in html


@fuzz
@given(st.text(max_size=200))
def test_md_fence_cannot_be_closed_from_inside(body):
    tokens = MD.parse(md_fence(body, "yaml") + "\n\nafter")
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].info == "yaml"
    assert tokens[-2].content == "after"


@fuzz
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=60) | st.lists(st.text(max_size=20), max_size=3), max_size=4))
def test_front_matter_loads_back_the_exact_values(header):
    text = front_matter(header)
    lines = text.split("\n")
    end = lines.index("---", 1)
    assert end == len(lines) - 2 and yaml.safe_load("\n".join(lines[1:end])) == header


def test_vinci_slugs_stay_readable_and_anything_else_is_escaped():
    from core.markup import md_name

    assert md_name("execution: syntax") == "execution: syntax" and md_name("quality_code") == "quality_code"
    assert md_name("x](http://e.example)") != "x](http://e.example)" and "\\[" not in md_name("a: b")
    assert md_name("# heading") == "\\# heading"
