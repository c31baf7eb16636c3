"""Parsers of untrusted input on the host, bounded: a size cap checked before parsing, every failure
of the parser one typed error (``Rejected``), never a crashed build.

``ast.parse`` of a 15 KB script of nested unary minus raises ``MemoryError``; 7,000 chained calls
raise ``RecursionError``; a tree 2,000 lambdas deep parses, then crashes whatever walks it
recursively (``ast.unparse``, ``compile``). ``parse_python`` turns each into ``Rejected`` and refuses
trees deeper than ``MAX_AST_DEPTH`` (measured without recursion), so every later recursive walk of a
tree it returns stays far inside Python's recursion limit.

``open_image`` opens a picture from untrusted bytes (a Hub row's image, a file of a ``dedup.against``
folder) only in a raster format of ``IMAGE_FORMATS`` and only up to ``MAX_IMAGE_PIXELS``, both read from
the header before any pixel is decoded. Pillow alone would try each of its ~40 decoders (an EPS runs
Ghostscript, as the user that runs vinci, on the PostScript inside) and decode up to 178 M pixels
(a 10 KB PNG asks for 0.5 GB as RGB).
"""
from __future__ import annotations

import ast
import io

from .errors import Rejected

MAX_PYTHON_CHARS = 1 << 20
MAX_AST_DEPTH = 200
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")  # what datasets ship; no decoder that runs a program
MAX_IMAGE_PIXELS = 8192 * 8192  # 67 M pixels: 201 MB as RGB; a full-page screenshot 1280 px wide up to 52k tall
MAX_IMAGE_BYTES = 64 << 20


def check_size(size: int, cap: int, what: str) -> None:
    """``Rejected("too_large")`` when ``size`` is over ``cap``: call it before the parser sees the input."""
    if size > cap:
        raise Rejected("too_large", f"{what}: {size:,} over the cap of {cap:,}")


def parse_python(code: str, what: str = "code") -> ast.Module:
    """The syntax tree of ``code``, or ``Rejected`` (``python_unparsable``, ``python_too_deep``,
    ``too_large``) with one line saying why."""
    check_size(len(code), MAX_PYTHON_CHARS, f"{what} (characters)")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        raise Rejected("python_unparsable", f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
    except (MemoryError, RecursionError) as exc:
        raise Rejected("python_too_deep", f"{what}: the parser gave up ({type(exc).__name__}): nesting too deep") from None
    depth = tree_depth(tree)
    if depth > MAX_AST_DEPTH:
        raise Rejected("python_too_deep", f"{what}: a syntax tree {depth} levels deep (cap {MAX_AST_DEPTH})")
    return tree


def tree_depth(tree: ast.AST) -> int:
    """The depth of a syntax tree, by an explicit stack (a recursive walk is what a deep tree breaks)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_AST_DEPTH:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def open_image(data: bytes, what: str = "picture"):
    """A PIL image of ``data`` with its header read and no pixel decoded yet, or ``Rejected``
    (``image_too_large``, ``image_unreadable``) when it is over the caps, in another format, or not a
    picture at all. Whatever later decodes it meets a bounded, known decoder."""
    check_size(len(data), MAX_IMAGE_BYTES, f"{what} (bytes)")
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise Rejected("image_too_large", f"{what}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for hostile input; each is this picture's
        raise Rejected("image_unreadable", f"{what}: not a {'/'.join(IMAGE_FORMATS)} picture ({type(exc).__name__})") from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise Rejected("image_too_large", f"{what}: {width}x{height} pixels, over the cap of {MAX_IMAGE_PIXELS:,}")
    return image
