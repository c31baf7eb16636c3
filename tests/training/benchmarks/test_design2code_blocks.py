"""Design2Code's OCR-free text blocks: the recolouring, the colour parser, the clean-up of generated pages,
and blocks found in drawn pictures."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from training.benchmarks.design2code_blocks import (clean_generated, colour_pool, coloured, cut_repetition, find_blocks,
                                                    style_colour, text_colours)
from training.benchmarks.html_tree import Element


def test_colours_are_handed_out_from_the_end_of_the_pool_and_shifted_by_50():
    assert colour_pool()[:2] == ["FAFAFA", "FAFAEA"] and colour_pool(50)[0] == "2C2C2C" and len(colour_pool()) == 4096


def test_every_text_element_gets_its_own_colour_and_text_inherits_it():
    page = '<html><body><div>a<em>b</em><p style="color: red; font-size: 2px">c</p></div><i>d</i></body></html>'
    marked = coloured(page)
    # the evaluator keeps the blank after each ';' it splits on, so later declarations get two
    assert 'style="background-color: rgba(255, 255, 255, 0.0) !important;  color: #FAFAFA !important; opacity: 1.0 !important"' in marked
    assert text_colours(marked) == [("a", "#FAFAFA"), ("b", "#FAFAFA"), ("c", "#FAFAEA"), ("d", "#000000")]


def test_the_colour_parser_reads_what_the_evaluator_reads():
    def colour(style):
        return style_colour(Element("div", {"style": style}))
    assert colour("color: rgb(1, 2, 3)") == "#010203" and colour("border-color: navy") == "#000080"
    assert colour("background-color: red") is None and colour("color: inherit") is None and colour("color:") is None


def test_repeated_generation_is_cut_where_it_starts_repeating():
    page = "<p>intro text that is unique enough</p>" + "<p>" + "spam " * 200 + "</p>"
    cut = cut_repetition(page)
    assert cut.startswith("<p>intro") and len(cut) < len(page) and "spam" in cut
    assert cut_repetition("<p>short</p>") == "<p>short</p>"
    assert clean_generated("just text") == "<html><body><p>just text</p></body></html>"
    assert clean_generated("<html><body>" + "<b>x</b>" * 60 + "</body></html>").count("<b>") == 50


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_blocks_are_the_pixels_that_moved_by_50_in_the_element_colour():
    page = "<html><body><p>hello</p><p>world</p></body></html>"
    plain, marked, shifted = (np.full((100, 200, 3), 255) for _ in range(3))
    plain[10:20, 20:60] = (200, 0, 0)
    marked[10:20, 20:60] = (250, 250, 250)  # the first <p>'s colour, FAFAFA
    shifted[10:20, 20:60] = (44, 44, 44)  # its shifted colour, 2C2C2C
    marked[50:60, 100:180] = (250, 250, 234)  # the second <p>'s colour drawn where nothing moved: no block
    blocks = find_blocks(page, png(plain), png(marked), png(shifted))
    assert len(blocks) == 1 and blocks[0].text == "hello"
    assert blocks[0].bbox == (20 / 200, 10 / 100, 40 / 200, 10 / 100) and blocks[0].color == (200, 0, 0)
    assert find_blocks(page, png(plain), png(marked), png(marked)) == []


def test_more_text_elements_than_the_evaluators_colours_is_an_error_of_its_own():
    import pytest

    from training.benchmarks.design2code_blocks import PoolExhausted

    with pytest.raises(PoolExhausted):
        coloured("<html><body>" + "<b>x</b>" * 4097 + "</body></html>")
