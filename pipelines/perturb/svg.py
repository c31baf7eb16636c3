"""SVG perturbations: edits of the XML tree (lxml), serialised back with the original prolog."""
from __future__ import annotations

import random
import re

from .base import far_color, perturbation

SHAPES = {"rect", "circle", "ellipse", "line", "polyline", "polygon", "path", "text", "g", "image", "use"}
PAINT = re.compile(r"^#[0-9a-fA-F]{3,6}$|^[a-z]+$")


def load(code: str):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False)
    try:
        root = etree.fromstring(code.strip().encode(), parser)
    except etree.XMLSyntaxError:
        return None
    return root if local(root) == "svg" else None


def dump(code: str, root) -> str:
    from lxml import etree

    prolog = code[: code.find("<svg")] if "<svg" in code else ""
    return prolog + etree.tostring(root, encoding="unicode") + ("\n" if code.endswith("\n") else "")


def local(el) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def shapes(root) -> list:
    return [el for el in root.iter() if local(el) in SHAPES and el is not root]


def edit(code: str, rng: random.Random, pick, change) -> str | None:
    root = load(code)
    if root is None:
        return None
    found = pick(root)
    if not found:
        return None
    target = rng.choice(found)
    if change(target, rng) is False:
        return None
    return dump(code, root)


def _paint(attr: str):
    def pick(root):
        return [el for el in root.iter() if PAINT.match(el.get(attr, "")) and el.get(attr) not in ("none", "transparent")]

    def change(el, rng):
        el.set(attr, far_color(rng, el.get(attr)))
    return pick, change


@perturbation("svg", "fill_color")
def fill_color(code: str, rng: random.Random) -> str | None:
    return edit(code, rng, *_paint("fill"))


@perturbation("svg", "stroke_color")
def stroke_color(code: str, rng: random.Random) -> str | None:
    return edit(code, rng, *_paint("stroke"))


@perturbation("svg", "stroke_width")
def stroke_width(code: str, rng: random.Random) -> str | None:
    def pick(root):
        return [el for el in root.iter() if re.fullmatch(r"[\d.]+", el.get("stroke-width", ""))]

    def change(el, rng):
        width = float(el.get("stroke-width"))
        el.set("stroke-width", f"{round(width * rng.uniform(1.8, 2.5) + 0.5, 1)}")
    return edit(code, rng, pick, change)


@perturbation("svg", "remove_element")
def remove_element(code: str, rng: random.Random) -> str | None:
    """Drop one drawn element -- never a full-canvas background, and never the only thing drawn."""
    def pick(root):
        size = f"{_size(root):g}"
        drawn = [el for el in shapes(root) if local(el.getparent()) != "defs"
                 and not (local(el) == "rect" and el.get("width") == size and el.get("height") == size)]
        return drawn if len(drawn) > 1 else []

    def change(el, rng):
        if el.tail and el.getprevious() is not None:
            prev = el.getprevious()
            prev.tail = (prev.tail or "") + el.tail
        el.getparent().remove(el)
    return edit(code, rng, pick, change)


@perturbation("svg", "transform")
def transform(code: str, rng: random.Random) -> str | None:
    root = load(code)
    size = _size(root) if root is not None else 100

    def change(el, rng):
        op = rng.choice([f"rotate({rng.choice([-15, -10, 10, 15])} {size / 2:g} {size / 2:g})",
                         f"translate({round(size * rng.uniform(0.05, 0.1), 1)} {round(size * rng.uniform(-0.08, 0.08), 1)})",
                         f"scale({rng.choice([0.85, 0.9, 1.1])})"])
        el.set("transform", (el.get("transform", "") + " " + op).strip())
    return edit(code, rng, lambda r: [el for el in shapes(r) if local(el.getparent()) != "defs"], change)


def _size(root) -> float:
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        return float(box[2]) if len(box) == 4 else float(re.sub(r"[a-z%]+", "", root.get("width", "100")))
    except ValueError:
        return 100.0


@perturbation("svg", "viewbox")
def viewbox(code: str, rng: random.Random) -> str | None:
    root = load(code)
    if root is None or not root.get("viewBox"):
        return None
    try:
        x, y, w, h = (float(v) for v in root.get("viewBox").replace(",", " ").split())
    except ValueError:
        return None
    zoom = rng.choice([0.9, 0.92, 1.08, 1.1])
    root.set("viewBox", f"{x + w * rng.uniform(-0.04, 0.04):g} {y + h * rng.uniform(-0.04, 0.04):g} {w * zoom:g} {h * zoom:g}")
    return dump(code, root)


@perturbation("svg", "gradient_stop")
def gradient_stop(code: str, rng: random.Random) -> str | None:
    def change(el, rng):
        el.set("stop-color", far_color(rng, el.get("stop-color")))
    return edit(code, rng, lambda r: [el for el in r.iter() if local(el) == "stop" and el.get("stop-color")], change)


@perturbation("svg", "opacity")
def opacity(code: str, rng: random.Random) -> str | None:
    def change(el, rng):
        current = el.get("opacity")
        el.set("opacity", "1" if current and float(current) < 0.5 else "0.25")
    return edit(code, rng, lambda r: [el for el in shapes(r) if local(el) != "g" and local(el.getparent()) != "defs"], change)


@perturbation("svg", "unclosed_tag", error="syntax")
def unclosed_tag(code: str, rng: random.Random) -> str | None:
    closers = [m for m in re.finditer(r"/>|</[a-zA-Z]+>", code)]
    if len(closers) < 2:
        return None
    m = rng.choice(closers[:-1])
    return code[:m.start()] + (">" if m.group() == "/>" else "") + code[m.end():]


@perturbation("svg", "broken_attribute", error="syntax")
def broken_attribute(code: str, rng: random.Random) -> str | None:
    attrs = list(re.finditer(r'\s[a-z-]+="[^"]*"', code[code.find("<svg") + 4:]))
    if not attrs:
        return None
    m = rng.choice(attrs)
    offset = code.find("<svg") + 4
    end = offset + m.end() - 1
    return code[:end] + code[end + 1:]


PERTURBATIONS = [fill_color, stroke_color, stroke_width, remove_element, transform, viewbox, gradient_stop, opacity,
                 unclosed_tag, broken_attribute]
