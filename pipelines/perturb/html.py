"""HTML perturbations: edits of located start tags, elements, text nodes and CSS declarations.

``html.parser`` reports where each tag and text node starts in the original text; every edit is a
splice at those positions, so the rest of the page (quotes, indentation) stays byte-identical.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .base import far_color, perturbation

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIP = {"html", "head", "body", "style", "script", "title", "meta"}
DECL = re.compile(r"(?<![a-z-])(?P<prop>[a-z-]+)\s*:\s*(?P<value>[^;{}\"']+)")  # a name starts a run: linear
COLOR_PROPS = {"color", "background", "background-color", "border-color", "fill"}
SPACING_PROPS = {"padding", "margin", "gap", "padding-left", "padding-top", "margin-top", "margin-bottom"}
NUMBER = re.compile(r"(\d+(?:\.\d+)?)(px|em|rem|%)")
HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


@dataclass
class Element:
    tag: str
    start: int
    start_end: int
    end: int | None = None
    parent: "Element | None" = None
    children: list = field(default_factory=list)


class Locator(HTMLParser):
    """Positions of elements, text nodes and CSS declarations in the original text."""

    def __init__(self, code: str):
        super().__init__(convert_charrefs=False)
        self.code = code
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", code)]
        self.elements: list[Element] = []
        self.texts: list[tuple[int, int]] = []
        self.css: list[tuple[int, int]] = []
        self.stack: list[Element] = []
        self.feed(code)
        self.close()

    def pos(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        start = self.pos()
        raw = self.get_starttag_text() or ""
        el = Element(tag, start, start + len(raw), parent=self.stack[-1] if self.stack else None)
        if el.parent:
            el.parent.children.append(el)
        self.elements.append(el)
        for m in re.finditer(r"""style\s*=\s*(["'])(.*?)\1""", raw, re.S):
            self.css.append((start + m.start(2), start + m.end(2)))
        if tag not in VOID:
            self.stack.append(el)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                el = self.stack[i]
                end = self.code.find(">", self.pos()) + 1
                el.end = end
                del self.stack[i:]
                return

    def handle_data(self, data):
        start = self.pos()
        if self.stack and self.stack[-1].tag == "style":
            self.css.append((start, start + len(data)))
        elif data.strip() and (not self.stack or self.stack[-1].tag not in ("script", "title")):
            self.texts.append((start, start + len(data)))

    def declarations(self, props: set[str]) -> list[tuple[int, int, str, str]]:
        """(value start, value end, property, value) of ``props`` in rules that style something on the page."""
        out = []
        for a, b in self.css:
            for block_start, block_end in self._used_blocks(a, b):
                for m in DECL.finditer(self.code, block_start, block_end):
                    if m.group("prop") in props:
                        out.append((m.start("value"), m.end("value"), m.group("prop"), m.group("value")))
        return out

    def _used_blocks(self, a: int, b: int) -> list[tuple[int, int]]:
        """Declaration blocks of a CSS span: the whole span for a ``style`` attribute, else each rule
        whose class selectors all occur in the page (an unused rule changes nothing visible)."""
        if "{" not in self.code[a:b]:
            return [(a, b)]
        blocks = []
        for selector, body_start, body_end in css_rules(self.code, a, b):
            classes = re.findall(r"\.([\w-]+)", selector)
            if all(re.search(r"""class\s*=\s*["'][^"']*\b""" + re.escape(c) + r"\b", self.code) for c in classes):
                blocks.append((body_start, body_end))
        return blocks


BRACE = re.compile(r"[{}]")


def css_rules(code: str, a: int, b: int) -> list[tuple[str, int, int]]:
    """(selector, body start, body end) of each ``selector { body }`` in ``code[a:b]`` whose body holds no
    brace, as ``([^{}]+)\\{([^{}]*)\\}`` finds them left to right, in one pass over the braces (that
    regex rescans a run from each of its characters when no rule follows it: quadratic)."""
    braces = [m.start() for m in BRACE.finditer(code, a, b)]
    rules, run, k = [], a, 0
    while k < len(braces):
        at = braces[k]
        if at > run and code[at] == "{" and k + 1 < len(braces) and code[braces[k + 1]] == "}":
            rules.append((code[run:at], at + 1, braces[k + 1]))
            run, k = braces[k + 1] + 1, k + 2
        else:
            run, k = at + 1, k + 1
    return rules


def splice(code: str, a: int, b: int, text: str) -> str:
    return code[:a] + text + code[b:]


def edit_declaration(code: str, rng: random.Random, props: set[str], change) -> str | None:
    decls = Locator(code).declarations(props)
    rng.shuffle(decls)
    for a, b, prop, value in decls:
        new = change(prop, value.rstrip(), rng)
        if new and new != value.rstrip():
            return splice(code, a, a + len(value.rstrip()), new)
    return None


def _recolor(prop, value, rng):
    m = HEX.search(value)
    return value[:m.start()] + far_color(rng, m.group()) + value[m.end():] if m else None


def _scale_lengths(factor_lo, factor_hi):
    def change(prop, value, rng):
        m = NUMBER.search(value)
        if not m:
            return None
        n = float(m.group(1)) * rng.uniform(factor_lo, factor_hi)
        return value[:m.start()] + f"{round(n) if n >= 3 else round(n, 2)}{m.group(2)}" + value[m.end():]
    return change


@perturbation("html", "color")
def color(code: str, rng: random.Random) -> str | None:
    return edit_declaration(code, rng, COLOR_PROPS, _recolor)


@perturbation("html", "font_size")
def font_size(code: str, rng: random.Random) -> str | None:
    return edit_declaration(code, rng, {"font-size"}, _scale_lengths(1.6, 2.2))


@perturbation("html", "spacing")
def spacing(code: str, rng: random.Random) -> str | None:
    return edit_declaration(code, rng, SPACING_PROPS, _scale_lengths(2.5, 4.0))


@perturbation("html", "border_radius")
def border_radius(code: str, rng: random.Random) -> str | None:
    return edit_declaration(code, rng, {"border-radius", "border", "border-left", "border-bottom"},
                            lambda p, v, r: "0" if NUMBER.search(v) and p == "border-radius" and float(NUMBER.search(v).group(1)) > 0
                            else "24px" if p == "border-radius" else _recolor(p, v, r) or "4px solid #d6336c")


@perturbation("html", "layout_direction")
def layout_direction(code: str, rng: random.Random) -> str | None:
    loc = Locator(code)
    for a, b, prop, value in loc.declarations({"grid-template-columns", "flex-direction", "justify-content", "display"}):
        v = value.strip()
        if prop == "grid-template-columns":
            m = re.search(r"repeat\((\d+)", v)
            if m:
                n = int(m.group(1))
                return splice(code, a + m.start(1), a + m.end(1), str(n + 1 if n < 3 else n - 1))
        if prop == "flex-direction":
            return splice(code, a, a + len(v), "row" if "column" in v else "column")
        if prop == "display" and v == "flex":
            return splice(code, a, a + len(v), "flex; flex-direction: column")
    return None


@perturbation("html", "font_weight")
def font_weight(code: str, rng: random.Random) -> str | None:
    heads = [e for e in Locator(code).elements if e.tag in ("h1", "h2", "h3", "p", "a", "li", "button")
             and "style=" not in code[e.start:e.start_end]]
    if not heads:
        return edit_declaration(code, rng, {"font-weight"}, lambda p, v, r: "300" if v.strip() in ("600", "700", "bold") else "800")
    el = max(heads, key=lambda e: (e.tag in ("h1", "h2"), (e.end or e.start_end) - e.start_end, -e.start))
    tag_end = el.start + 1 + len(el.tag)
    return splice(code, tag_end, tag_end, ' style="font-weight:900; font-style:italic; text-transform:uppercase; letter-spacing:2px"')


def _removable(loc: Locator) -> list[Element]:
    return [e for e in loc.elements if e.tag not in SKIP and e.end is not None and e.parent is not None and e.parent.tag not in ("head",)]


@perturbation("html", "remove_element")
def remove_element(code: str, rng: random.Random) -> str | None:
    candidates = [e for e in _removable(Locator(code)) if e.end - e.start < len(code) * 0.5]
    if not candidates:
        return None
    el = rng.choice(candidates)
    return splice(code, el.start, el.end, "")


@perturbation("html", "element_order")
def element_order(code: str, rng: random.Random) -> str | None:
    loc = Locator(code)
    pairs = []
    for el in loc.elements:
        kids = [k for k in el.children if k.end is not None and k.tag not in SKIP]
        for x, y in zip(kids, kids[1:]):
            if code[x.end:y.start].strip() == "" and code[x.start:x.end] != code[y.start:y.end]:
                pairs.append((x, y))
    if not pairs:
        return None
    x, y = rng.choice(pairs)
    return code[:x.start] + code[y.start:y.end] + code[x.end:y.start] + code[x.start:x.end] + code[y.end:]


@perturbation("html", "text_change")
def text_change(code: str, rng: random.Random) -> str | None:
    texts = [t for t in Locator(code).texts if len(code[t[0]:t[1]].strip()) >= 3]
    if not texts:
        return None
    a, b = rng.choice(texts)
    words = ["Launch faster today", "Everything you need", "Welcome back, team", "Quarterly report ready",
             "Contact our sales desk", "Limited offer"]
    return splice(code, a, b, rng.choice(words))


@perturbation("html", "unclosed_style", error="blank")
def unclosed_style(code: str, rng: random.Random) -> str | None:
    """A lost ``</style>`` turns the rest of the page into CSS: the page renders empty."""
    m = re.search(r"</style\s*>", code, re.I)
    if not m or "<body" not in code[m.end():].lower():
        return None
    return splice(code, m.start(), m.end(), "")


@perturbation("html", "unclosed_comment", error="blank")
def unclosed_comment(code: str, rng: random.Random) -> str | None:
    """An opened comment swallowing the body, as a stray ``<!--`` does."""
    m = re.search(r"<body[^>]*>", code, re.I)
    if not m:
        return None
    return splice(code, m.end(), m.end(), "\n<!-- TODO: restore layout\n")


PERTURBATIONS = [color, font_size, spacing, border_radius, layout_direction, font_weight, remove_element, element_order,
                 text_change, unclosed_style, unclosed_comment]
