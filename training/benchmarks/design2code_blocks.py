"""Design2Code's text blocks, found without OCR as its evaluator finds them (``ocr_free_utils.py``).

Every text-bearing element of the page gets a colour of its own (backgrounds made transparent) in
two versions of the page, the second with every channel shifted by 50; the pixels whose colour moved
by 50 (within 8) between the two screenshots are text. A text string of the page is then the pixels of
its element's colour (within 4) among them: its block is their bounding box, normalised by the
screenshot's size, and its colour their mean in the page's own screenshot. The three pages are drawn
by the caller (in the sandbox); everything here is pure computation on the page text and the pictures.

Also here: the clean-up the evaluator applies to a *generated* page before drawing it (cut repeated
content, wrap bare text in ``<html>``, drop the 51st and later copies of an identical element).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from core.errors import VinciError

from .html_tree import Element, parse, serialize

TEXT_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "div", "span", "a", "b", "li", "table", "td",
                       "th", "button", "footer", "header", "figcaption"})
SHIFT = 50
SHIFT_TOLERANCE = 8
COLOUR_TOLERANCE = 4
MAX_REPEATS = 50
CHUNK, REPEATS, CHUNK_SIMILARITY = 100, 5, 0.8


@dataclass
class Block:
    """A text block: lower-cased text, ``(x, y, w, h)`` as fractions of the screenshot, RGB colour."""

    text: str
    bbox: tuple[float, float, float, float]
    color: tuple[float, float, float]


class PoolExhausted(VinciError, ValueError):
    """More text elements than the evaluator's 4,096 colours (it fails on such a page)."""


# -- the clean-up of a generated page ---------------------------------------------------------------

def cut_repetition(page: str) -> str:
    """The page cut where its text starts repeating (``check_repetitive_content``): tags removed, the text
    in 100-character chunks; a chunk at least 80% like one seen before joins that one's group, and once a
    group has 5 members the page is cut at the start of the group's first chunk (the earliest such cut)."""
    text = re.sub("<.*?>", "", page)
    positions, at = [], 0
    for ch in text:
        at = page.index(ch, at)
        positions.append(at)
        at += 1
    seen: dict[str, list[int]] = {}
    cut = len(text)
    for i in range(0, len(text), CHUNK):
        chunk = text[i:i + CHUNK]
        for earlier, members in seen.items():
            matcher = SequenceMatcher(None, chunk, earlier)
            # the quick ratios bound the ratio from above: the same decisions, most pairs settled early
            if matcher.real_quick_ratio() >= CHUNK_SIMILARITY and matcher.quick_ratio() >= CHUNK_SIMILARITY \
                    and matcher.ratio() >= CHUNK_SIMILARITY:
                members.append(i // CHUNK)
                if len(members) >= REPEATS:
                    start = min(cut, members[0] * CHUNK)
                    cut = min(cut, positions[start] if start < len(positions) else len(page))
                break
        else:
            seen[chunk] = [i // CHUNK]
    return page[:cut] if cut != len(text) else page


def as_page(page: str) -> str:
    if not re.search(r"<html[^>]*>", page, re.IGNORECASE):
        return f"<html><body><p>{page}</p></body></html>"
    return page


def drop_repeated_elements(root: Element, limit: int = MAX_REPEATS) -> None:
    """Detach every element whose markup has been seen ``limit`` times already (counted over the element
    list taken before any is removed, as the evaluator walks it)."""
    counts: dict[str, int] = {}
    for element in list(root.iter()):
        markup = serialize(element)
        counts[markup] = counts.get(markup, 0) + 1
        if counts[markup] > limit:
            element.detach()


def clean_generated(page: str) -> str:
    root = parse(as_page(cut_repetition(page)))
    drop_repeated_elements(root)
    return serialize(root)


# -- colouring ----------------------------------------------------------------------------------------

def colour_pool(offset: int = 0) -> list[str]:
    """The evaluator's colours, in the order it hands them out (last of its list first)."""
    values = range(10, 251, 16)
    pool = ["{:02X}{:02X}{:02X}".format((r + offset) % 256, (g + offset) % 256, (b + offset) % 256)
            for r in values for g in values for b in values]
    return pool[::-1]


def _set_style(element: Element, prop: str, value: str) -> None:
    kept = [s for s in element.attrs.get("style", "").split(";") if not s.strip().startswith(prop) and s.strip()]
    kept.append(f"{prop}: {value} !important")
    element.attrs["style"] = "; ".join(kept).strip()


def coloured(page: str, offset: int = 0) -> str:
    """The page with transparent backgrounds and one colour per text element (``process_html``)."""
    root = parse(page)
    for element in root.iter():
        _set_style(element, "background-color", "rgba(255, 255, 255, 0.0)")
    pool = iter(colour_pool(offset))
    for element in root.iter():
        if element.name in TEXT_TAGS:
            colour = next(pool, None)
            if colour is None:
                raise PoolExhausted("more than 4,096 text elements")
            _set_style(element, "color", f"#{colour}")
            _set_style(element, "opacity", "1.0")
    return serialize(root)


def style_colour(element: Element) -> str | None:
    """The colour an element's own style attribute names (``get_color``): the last declaration naming
    ``color`` but not ``background-color``, as ``#rrggbb``; ``None`` where there is none or it does not
    parse (where the evaluator itself would fail, too)."""
    from PIL import ImageColor

    if "style" not in element.attrs:
        return None
    named = [s for s in element.attrs["style"].split(";") if "color" in s and "background-color" not in s]
    if not named:
        return None
    parts = named[-1].split(":")
    if len(parts) < 2:
        return None
    colour = parts[1].strip().replace(" !important", "")
    if not colour:
        return None
    if colour[0] == "#":
        return colour
    try:
        rgb = tuple(map(int, colour[4:-1].split(","))) if colour.startswith("rgb") else ImageColor.getrgb(colour)
        return "#{:02x}{:02x}{:02x}".format(*rgb)
    except (ValueError, IndexError):
        return None


def text_colours(page: str) -> list[tuple[str, str]]:
    """Every non-blank string of the body (comments aside), stripped, with the colour it inherits from
    the nearest element whose style names one (``extract_text_with_color``)."""
    body = parse(page).find("body")
    found: list[tuple[str, str]] = []

    def walk(element: Element, inherited: str) -> None:
        own = style_colour(element) or inherited
        for child in element.children:
            if isinstance(child, Element):
                walk(child, own)
            elif child.kind != "comment" and child.value.strip():
                found.append((child.value.strip(), own))

    if body is not None:
        walk(body, "#000000")
    return found


# -- blocks from the three screenshots ----------------------------------------------------------------

def rgb_array(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _hex_rgb(colour: str) -> tuple[int, int, int] | None:
    digits = colour.lstrip("#")
    try:
        rgb = tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return None
    return rgb if all(0 <= v <= 255 for v in rgb) else None  # type: ignore[return-value]


def shifted_pixels(first: np.ndarray, second: np.ndarray) -> np.ndarray | None:
    """``(row, col)`` of the pixels whose colour moved by +50 (mod 256, within 8 a channel); ``None`` when
    the two screenshots differ in size or no pixel moved."""
    if first.shape != second.shape:
        return None
    moved = np.abs((first.astype(np.int16) + SHIFT) % 256 - second.astype(np.int16)) <= SHIFT_TOLERANCE
    coords = np.argwhere(moved.all(axis=2))
    return coords if len(coords) else None


def find_blocks(page: str, plain_png: bytes, coloured_png: bytes, shifted_png: bytes) -> list[Block]:
    """The page's text blocks; ``page`` is the page as drawn plain, the PNGs its three screenshots (plain,
    ``coloured(page)``, ``coloured(page, 50)``). No blocks where the evaluator finds none or fails."""
    marked = rgb_array(coloured_png)
    moved = shifted_pixels(marked, rgb_array(shifted_png))
    if moved is None:
        return []
    plain = rgb_array(plain_png)
    height, width = marked.shape[:2]
    at_moved = marked[moved[:, 0], moved[:, 1]].astype(np.int16)
    by_colour: dict[tuple[int, int, int], np.ndarray] = {}
    blocks = []
    for text, colour in text_colours(coloured(page)):
        rgb = _hex_rgb(colour)
        if rgb is None:
            continue
        if rgb not in by_colour:
            # cv2.inRange on uint8 bounds: colour -/+ 4 wrap around below 0 and above 255
            lower = (np.array(rgb, dtype=np.int16) - COLOUR_TOLERANCE) % 256
            upper = (np.array(rgb, dtype=np.int16) + COLOUR_TOLERANCE) % 256
            by_colour[rgb] = moved[((at_moved >= lower) & (at_moved <= upper)).all(axis=1)]
        coords = by_colour[rgb]
        if not len(coords):
            continue
        if coords[:, 0].max() >= plain.shape[0] or coords[:, 1].max() >= plain.shape[1]:
            return []  # the evaluator's colour lookup fails on a smaller plain screenshot: no blocks
        (row0, col0), (row1, col1) = coords.min(axis=0), coords.max(axis=0)
        mean = plain[coords[:, 0], coords[:, 1]].mean(axis=0).astype(int)
        blocks.append(Block(text.lower(), (col0 / width, row0 / height, (col1 - col0 + 1) / width, (row1 - row0 + 1) / height),
                            tuple(int(v) for v in mean)))
    return blocks
