"""Parsing untrusted Python on the host: every failure of the parser one typed error, never a crash."""
from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.bounded import MAX_AST_DEPTH, parse_python, tree_depth
from core.errors import Rejected
from core.languages import LANGUAGES
from tests.hostile import fuzz

# Crafted scripts of ~15 KB and what ``ast.parse`` (or the first recursive walk) does with them on
# Python 3.11: MemoryError, RecursionError, SyntaxError, or a tree that ``ast.unparse`` cannot walk.
CRAFTED = [
    ("-" * 15_000 + "1", "python_too_deep"),  # ast.parse: MemoryError
    ("f" + "()" * 7_000, "python_too_deep"),  # RecursionError during AST construction
    ("1" + "+1" * 7_000, "python_too_deep"),
    ("a" + ".b" * 7_000, "python_too_deep"),
    ("lambda:" * 2_000 + "1", "python_too_deep"),  # parses; ast.unparse and compile raise RecursionError
    ("(" * 5_000 + ")" * 5_000, "python_unparsable"),  # SyntaxError: too many nested parentheses
    ("".join(" " * i + "if 1:\n" for i in range(101)) + " " * 101 + "pass\n", "python_unparsable"),
    ("x = '\x00'", "python_unparsable"),  # ValueError on older Pythons, SyntaxError now
]


@pytest.mark.parametrize("code,reason", CRAFTED)
def test_a_crafted_script_is_refused_with_a_reason(code, reason):
    with pytest.raises(Rejected) as refused:
        parse_python(code, "row 7")
    assert refused.value.reason == reason and str(refused.value).startswith("row 7: ")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("code,reason", CRAFTED)
def test_the_quality_check_of_a_crafted_script_answers_instead_of_crashing(code, reason):
    """``_python_sign`` called ``ast.parse`` bare: the first of these stopped a build with MemoryError."""
    assert LANGUAGES["python"].signature(code) in (True, False)


def test_a_tree_it_returns_can_be_walked_recursively():
    code = "x = " + "[" * (MAX_AST_DEPTH // 2 - 2) + "]" * (MAX_AST_DEPTH // 2 - 2)
    tree = parse_python(code)
    assert tree_depth(tree) <= MAX_AST_DEPTH and ast.unparse(tree)


@fuzz
@given(st.text(alphabet=st.sampled_from(list("()[]{}-+*~ab:=.,\n\t lambdaifnot'\"\\#@0")), max_size=300) | st.text(max_size=100))
def test_parse_python_raises_nothing_but_rejected(code):
    try:
        tree = parse_python(code)
    except Rejected:
        return
    assert tree_depth(tree) <= MAX_AST_DEPTH
    ast.unparse(tree)


def test_open_image_reads_known_formats_and_refuses_the_rest_before_decoding():
    import io

    from PIL import Image

    from core.bounded import IMAGE_FORMATS, MAX_IMAGE_PIXELS, open_image

    for fmt in IMAGE_FORMATS:
        buf = io.BytesIO()
        Image.new("RGB", (8, 4), (10, 20, 30)).save(buf, format=fmt)
        assert open_image(buf.getvalue()).size == (8, 4)
    for fmt in ("TIFF", "ICO", "PPM", "EPS"):
        buf = io.BytesIO()
        Image.new("RGB", (8, 4)).save(buf, format=fmt)
        with pytest.raises(Rejected) as refused:
            open_image(buf.getvalue())
        assert refused.value.reason == "image_unreadable"
    from tests.sources.test_hub import bitmap_png

    side = int(MAX_IMAGE_PIXELS ** 0.5) + 1
    with pytest.raises(Rejected) as refused:
        open_image(bitmap_png(side, side))
    assert refused.value.reason == "image_too_large"


@fuzz
@given(st.integers(0, 1 << 31), st.integers(0, 1 << 31), st.sampled_from([0, 2, 3, 4, 6]), st.binary(max_size=64))
def test_open_image_returns_a_bounded_picture_or_rejected(width, height, colour, tail):
    """Any PNG header (any size, colour type, garbage after it): a picture within the cap, or ``Rejected``."""
    import struct
    import zlib

    from core.bounded import MAX_IMAGE_PIXELS, open_image

    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + tail
    try:
        image = open_image(data)
    except Rejected:
        return
    assert image.size[0] * image.size[1] <= MAX_IMAGE_PIXELS
