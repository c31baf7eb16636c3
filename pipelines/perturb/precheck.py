"""Perturbations whose verdict is known before they are rendered: their render is not spent.

Only two cases are certain, and only those are checked -- a check that guessed (a border radius on a
plain box, a zoom on a sparse drawing) would drop perturbations the render keeps:

- ``comment_only``: the edit only touched comments (a TikZ ``\\draw`` that was commented out, a
  ``<!-- -->`` block): the flawed code is the original program, so it renders the same picture --
  too similar for a visual kind, no error for an error kind. The comparison is stricter than the
  dedup normaliser (``core.normalise``), which also folds layout that a renderer can see (Python
  indentation, a TeX blank line, whitespace between inline HTML elements, a SMILES atom order):
  here only comment text goes, and only where the language's own rules make it a comment.
- ``duplicate_attempt``: the same flawed code as an earlier attempt of the same row with the same
  expectation (visual, or the same error kind): same render, same verdict; kept, it would be the
  same optimize row id, which the build's ``optimize`` step drops as ``exact_duplicate``.

Both read only the code the attempt already drew, never the row's random stream.
"""
from __future__ import annotations

import io
import re
import tokenize
from html.parser import HTMLParser

from core.normalise import LATEX_COMMENT
from core.verdicts import Drop

CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")
VERBATIM = {"textarea", "title", "xmp", "noscript", "noembed", "noframes", "iframe", "plaintext"}


def python_program(code: str) -> str:
    """The token stream less comments and blank lines; layout tokens (indentation, statement ends) and an
    encoding declaration stay. Untokenizable code is compared as it is."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(code).readline)
        return "\x00".join(f"{t.type}:{t.string}" for t in tokens if t.type != tokenize.NL
                            and not (t.type == tokenize.COMMENT and not (t.start[0] <= 2 and CODING.match(t.line))))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code


def tex_program(code: str) -> str:
    """TeX with each comment's text cut after its ``%``: the ``%`` stays, for it also eats the line end.
    (An escaped ``\\%`` is text; ``\\\\%`` is left as it is: a missed comment, never a wrong one.)"""
    return LATEX_COMMENT.sub("%", code)


class _Comments(HTMLParser):
    """Where the parser sees comments that a browser sees too: never inside ``<style>`` / ``<script>``
    (raw text: a ``<!--`` there is part of the CSS or script the browser still applies) nor inside an
    element whose text a browser shows as written (``<textarea>``, ``<title>``...); never one a browser
    closes sooner (``--!>``, ``<!-->``)."""

    def __init__(self, code: str) -> None:
        super().__init__(convert_charrefs=False)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", code)]
        self.spans: list[tuple[int, int]] = []
        self.code, self.verbatim = code, 0
        self.feed(code)
        self.close()

    def handle_starttag(self, tag: str, attrs) -> None:
        self.verbatim += tag in VERBATIM

    def handle_endtag(self, tag: str) -> None:
        if tag in VERBATIM and self.verbatim:
            self.verbatim -= 1

    def handle_comment(self, data: str) -> None:
        line, col = self.getpos()
        start = self.line_starts[line - 1] + col
        closed = self.code.startswith("<!--", start) and self.code.startswith("-->", start + 4 + len(data))
        if closed and not self.verbatim and "--!>" not in data and not data.startswith((">", "->")):
            self.spans.append((start, start + 4 + len(data) + 3))


def markup_program(code: str) -> str:
    """HTML/SVG less the comments the parser closes (an unclosed ``<!--`` is left: it hides what follows)."""
    spans = _Comments(code).spans
    kept, at = [], 0
    for a, b in spans:
        kept.append(code[at:a])
        at = b
    return "".join(kept) + code[at:]


PROGRAM = {"python": python_program, "latex": tex_program, "html": markup_program, "svg": markup_program}


def same_program(lang: str, a: str, b: str) -> bool:
    """Do ``a`` and ``b`` differ in comments at most (exact equality for a language without a rule here)?"""
    if a == b:
        return True
    program = PROGRAM.get(lang)
    return program is not None and program(a) == program(b)


def comment_only(lang: str, original: str, flawed: str) -> Drop | None:
    if not same_program(lang, original, flawed):
        return None
    return Drop("comment_only", "the perturbation only edited comments: it renders as the original")


def doomed(attempts) -> list[Drop | None]:
    """Per attempt (``stage.Attempt``, in draw order), the drop it is known to get without a render."""
    seen: set[tuple[int, str, str | None]] = set()
    out: list[Drop | None] = []
    for a in attempts:
        key = (id(a.parent), a.flawed, a.error)  # the same row object: same code, picture and render conventions
        if not a.applied:
            out.append(None)
        elif key in seen:
            out.append(Drop("duplicate_attempt", "the same flawed code as an earlier attempt of this row"))
        else:
            out.append(comment_only(a.lang, a.parent.code, a.flawed))
        seen.add(key)
    return out
