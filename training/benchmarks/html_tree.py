"""A small HTML tree built as BeautifulSoup's ``html.parser`` builder builds it, and written back.

Design2Code's evaluator reads pages with ``BeautifulSoup(page, "html.parser")``: Python's
``html.parser`` events, no implied end tags, an end tag closing the most recent open element of its
name (one with no open match is dropped), void elements closed at once, every run of text (script
and style bodies included) one string, comments apart. Which element owns which text decides which
colour the text gets, so the evaluator's tree is rebuilt here the same way rather than with a
browser-grade parser (bs4 is not a vinci dependency); as in bs4, a string of ASCII blanks outside
``pre``/``textarea`` becomes one newline (or one space). ``serialize`` writes it back as bs4's
``str(soup)`` does (attributes sorted, "minimal" escaping, ``<br/>``, a newline after the doctype),
so the page the sandbox draws is the page the evaluator draws. Pure text processing: nothing here runs the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Iterator, Union

VOID = frozenset("area base br col embed hr img input keygen link menuitem meta param source track wbr "
                 "basefont bgsound command frame image isindex nextid spacer".split())
RAW_TEXT = frozenset({"script", "style"})
KEEP_SPACE = frozenset({"pre", "textarea"})
ASCII_SPACE = " \n\t\x0c\r"


@dataclass
class Text:
    value: str
    kind: str = "text"  # "text", "comment", "doctype", "decl", "pi", "cdata"
    parent: "Element | None" = field(default=None, repr=False, compare=False)


@dataclass
class Element:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list["Node"] = field(default_factory=list)
    parent: "Element | None" = field(default=None, repr=False, compare=False)

    def iter(self) -> Iterator["Element"]:
        """Every element below this one, in document order (``find_all(True)``)."""
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find(self, name: str) -> "Element | None":
        return next((e for e in self.iter() if e.name == name), None)

    def detach(self) -> None:
        if self.parent is not None:
            self.parent.children = [c for c in self.parent.children if c is not self]
            self.parent = None


Node = Union[Element, Text]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("[document]")
        self.stack = [self.root]

    def _add(self, node: Node) -> None:
        node.parent = self.stack[-1]
        self.stack[-1].children.append(node)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: "" if v is None else v for k, v in attrs})
        self._add(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self._add(Element(tag, {k: "" if v is None else v for k, v in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].name == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        last = self.stack[-1].children[-1] if self.stack[-1].children else None
        if isinstance(last, Text) and last.kind == "text":
            last.value += data
        else:
            self._add(Text(data))

    def blanks(self, node: Element) -> None:
        for child in node.children:
            if isinstance(child, Element):
                if child.name not in KEEP_SPACE:
                    self.blanks(child)
            elif child.kind == "text" and not child.value.strip(ASCII_SPACE):
                child.value = "\n" if "\n" in child.value else " "

    def handle_comment(self, data):
        self._add(Text(data, "comment"))

    def handle_decl(self, decl):
        self._add(Text(decl[8:] if decl[:8].upper() == "DOCTYPE " else decl, "doctype"))

    def unknown_decl(self, data):
        cdata = data.upper().startswith("CDATA[")
        self._add(Text(data[6:] if cdata else data, "cdata" if cdata else "decl"))

    def handle_pi(self, data):
        self._add(Text(data, "pi"))


def parse(page: str) -> Element:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    builder.blanks(builder.root)
    return builder.root


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(name: str, value: str) -> str:
    value = _escape(value)
    if '"' in value:
        if "'" in value:
            return f'{name}="{value.replace(chr(34), "&quot;")}"'
        return f"{name}='{value}'"
    return f'{name}="{value}"'


def serialize(node: Node) -> str:
    if isinstance(node, Text):
        if node.kind == "text":
            return node.value if node.parent is not None and node.parent.name in RAW_TEXT else _escape(node.value)
        return {"comment": "<!--{}-->", "doctype": "<!DOCTYPE {}>\n", "decl": "<?{}?>", "pi": "<?{}>",
                "cdata": "<![CDATA[{}]]>"}[node.kind].format(node.value)
    inner = "".join(serialize(c) for c in node.children)
    if node.name == "[document]":
        return inner
    attrs = "".join(" " + _attribute(k, v) for k, v in sorted(node.attrs.items()))
    if node.name in VOID and not node.children:
        return f"<{node.name}{attrs}/>"
    return f"<{node.name}{attrs}>{inner}</{node.name}>"
