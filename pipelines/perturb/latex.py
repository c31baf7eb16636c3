"""TikZ/pgfplots perturbations on located TikZ statements (``\\draw ...;``), their option lists,
coordinates, node texts and pgfplots axis options -- never a blind replace over the whole text."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from core.normalise import LATEX_COMMENT

from .base import perturbation

COMMANDS = re.compile(r"\\(draw|node|fill|filldraw|path|addplot|shade|shadedraw|coordinate)\b")
COLORS = ["red", "blue", "teal", "orange", "violet", "olive", "purple", "cyan", "magenta", "brown", "green", "black", "gray"]
COLOR_WORD = re.compile(r"\b(" + "|".join(COLORS) + r")\b(!\d+(!\w+)?)?")
COORD = re.compile(r"\((-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\)")


def live(code: str) -> str:
    """``code`` with each comment's text blanked (same length, so offsets hold): statements are located in
    what TeX reads, never in a commented-out ``\\draw`` (its edit changes nothing; a ``;`` search through it
    ran into the next live statement)."""
    return LATEX_COMMENT.sub(lambda m: "%" + " " * (len(m.group()) - 1), code)


@dataclass
class Statement:
    command: str
    start: int
    end: int
    options: tuple[int, int] | None


def matching(code: str, i: int, open_c: str, close_c: str) -> int | None:
    depth = 0
    for j in range(i, len(code)):
        c = code[j]
        if c == "\\":
            continue
        if c == open_c and (j == 0 or code[j - 1] != "\\"):
            depth += 1
        elif c == close_c and (j == 0 or code[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return j
    return None


def statements(code: str) -> list[Statement]:
    """Each TikZ path command up to its terminating ``;`` at brace depth 0, with its option list."""
    out = []
    code = live(code)
    body_start = code.find("\\begin{document}")
    for m in COMMANDS.finditer(code, max(body_start, 0)):
        j, depth = m.end(), 0
        options = None
        k = m.end()
        while k < len(code) and code[k] in " +":
            k += 1
        if k < len(code) and code[k] == "[":
            close = matching(code, k, "[", "]")
            if close:
                options = (k + 1, close)
        while j < len(code):
            c = code[j]
            if c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth < 0:
                    break
            elif c == ";" and depth == 0:
                out.append(Statement(m.group(1), m.start(), j + 1, options))
                break
            j += 1
    return out


def splice(code: str, a: int, b: int, text: str) -> str:
    return code[:a] + text + code[b:]


def option_lists(code: str) -> list[tuple[int, int]]:
    """Option lists of statements, environments (``tikzpicture``, ``axis``) and styles."""
    spans = [s.options for s in statements(code) if s.options]
    code = live(code)
    for m in re.finditer(r"\\begin\{(tikzpicture|axis|scope)\}\[", code):
        close = matching(code, m.end() - 1, "[", "]")
        if close:
            spans.append((m.end(), close))
    return spans


def edit_option(code: str, rng: random.Random, pattern: re.Pattern, replace, add=None,
                commands: tuple[str, ...] = ()) -> str | None:
    """Replace a ``pattern`` match inside some option list; where there is none, ``add(rng)`` is put
    first into the options of one of ``commands``' statements (``add=None``: a clean skip)."""
    hits = [(m.start(), m.end(), m.group()) for a, b in option_lists(code) for m in pattern.finditer(code, a, b)]
    if hits:
        a, b, old = rng.choice(hits)
        return splice(code, a, b, replace(old, rng))
    spans = [s.options for s in statements(code) if s.options and s.command in commands]
    if add is None or not spans:
        return None
    a, _ = rng.choice(spans)
    return splice(code, a, a, add(rng))


@perturbation("latex", "color")
def color(code: str, rng: random.Random) -> str | None:
    return edit_option(code, rng, COLOR_WORD, lambda old, r: r.choice([c for c in COLORS if c != COLOR_WORD.match(old).group(1)]),
                       add=lambda r: r.choice(COLORS[:6]) + ", ", commands=("draw", "fill", "filldraw", "addplot"))


@perturbation("latex", "coordinates")
def coordinates(code: str, rng: random.Random) -> str | None:
    hits = [(s, m) for s in statements(code) if s.command != "addplot" for m in COORD.finditer(code, s.start, s.end)]
    if not hits:
        return None
    _, m = rng.choice(hits)
    x, y = float(m.group(1)), float(m.group(2))
    dx, dy = rng.choice([(1.5, 0), (0, 1.5), (-1.5, 0), (0, -1.5), (1, 1)])
    return splice(code, m.start(), m.end(), f"({x + dx:g},{y + dy:g})")


@perturbation("latex", "line_style")
def line_style(code: str, rng: random.Random) -> str | None:
    spans = [s.options for s in statements(code) if s.options and s.command in ("draw", "addplot", "path")]
    spans += [(s.start + len(s.command) + 1, s.start + len(s.command) + 1) for s in statements(code)
              if not s.options and s.command == "draw"]
    if not spans:
        return None
    a, b = rng.choice(spans)
    text = code[a:b]
    for style in ("densely dotted", "dashed", "dotted"):
        if style in text:
            return splice(code, a + text.index(style), a + text.index(style) + len(style), "solid")
    return splice(code, a, a, ("dashed, " if b > a else "[dashed]"))


WIDTH_WORD = re.compile(r"\b(ultra thin|very thin|ultra thick|very thick|semithick|thin|thick)\b")
ARROW_TIP = re.compile(r"(?<![\w-])(<->|->|<-|-Stealth|-latex|\|-\||-stealth)(?![\w>])")


@perturbation("latex", "line_width")
def line_width(code: str, rng: random.Random) -> str | None:
    return edit_option(code, rng, WIDTH_WORD, lambda old, r: "ultra thick" if "thin" in old or old == "semithick" else "very thin",
                       add=lambda r: "line width=2.5pt, ", commands=("draw", "addplot"))


@perturbation("latex", "arrow_tip")
def arrow_tip(code: str, rng: random.Random) -> str | None:
    return edit_option(code, rng, ARROW_TIP, lambda old, r: r.choice([t for t in ("<->", "-", "|-|") if t != old]),
                       add=lambda r: "<->, ", commands=("draw",))


# Whitespace only after each part: four adjacent ``\s*`` split a run of spaces in O(k^4) ways
# ("node" + 400 spaces took 48 s).
NODE_TEXT = re.compile(r"node\s*(?:\[[^\]]*\]\s*)?(?:\([^)]*\)\s*)?(?:at\s*\([^)]*\)\s*)?\{")


@perturbation("latex", "node_text")
def node_text(code: str, rng: random.Random) -> str | None:
    hits = []
    for s in statements(code):
        for m in NODE_TEXT.finditer(code, s.start, s.end):
            close = matching(code, m.end() - 1, "{", "}")
            if close and close > m.end():
                hits.append((m.end(), close))
    if not hits:
        return None
    a, b = rng.choice(hits)
    words = ["Result", "Input data", "$x_1$", "Step 3", "Output", "Stage B", "$\\lambda$"]
    return splice(code, a, b, rng.choice([w for w in words if w != code[a:b]]))


NODE_SHAPES = {"circle": "rectangle", "rectangle": "circle", "diamond": "rectangle", "ellipse": "rectangle",
               "rounded corners": "sharp corners"}
NODE_SHAPE = re.compile(r"\b(circle|rectangle|diamond|ellipse|rounded corners)\b")


@perturbation("latex", "node_shape")
def node_shape(code: str, rng: random.Random) -> str | None:
    return edit_option(code, rng, NODE_SHAPE, lambda old, r: NODE_SHAPES[old])


@perturbation("latex", "remove_command")
def remove_command(code: str, rng: random.Random) -> str | None:
    named = {m.group(1) for m in re.finditer(r"\\node[^;]*?\(([\w-]+)\)", code)}
    referenced = {n for n in named if len(re.findall(r"\(" + re.escape(n) + r"[.)]", code)) > 1}
    removable = [s for s in statements(code) if s.command in ("draw", "node", "fill", "addplot", "filldraw")
                 and not any(f"({n})" in code[s.start:s.end] for n in referenced if s.command == "node")]
    if len(removable) < 2:
        return None
    s = rng.choice(removable)
    end = s.end + 1 if code[s.end:s.end + 1] == "\n" else s.end
    return splice(code, s.start, end, "")


@perturbation("latex", "axis_option")
def axis_option(code: str, rng: random.Random) -> str | None:
    m = re.search(r"\\begin\{axis\}\[", live(code))
    if not m:
        return None
    close = matching(code, m.end() - 1, "[", "]")
    if not close:
        return None
    opts = code[m.end():close]
    choices = [("grid=major", "grid=none"), ("grid=none", "grid=major"), ("grid=both", "grid=none"),
               ("axis lines=middle", "axis lines=box"), ("axis lines=box", "axis lines=middle"), ("ybar", "xbar")]
    for old, new in rng.sample(choices, len(choices)):
        if old in opts and not (old == "ybar" and "symbolic x coords" in opts):
            i = m.end() + opts.index(old)
            return splice(code, i, i + len(old), new)
    return splice(code, m.end(), m.end(), rng.choice(["width=14cm, height=5cm, ", "width=6cm, height=8cm, "]))


@perturbation("latex", "plot_data")
def plot_data(code: str, rng: random.Random) -> str | None:
    plots = [s for s in statements(code) if s.command == "addplot"]
    if not plots:
        return None
    s = rng.choice(plots)
    coords = list(COORD.finditer(code, s.start, s.end))
    if coords:
        m = rng.choice(coords)
        y = float(m.group(2))
        return splice(code, m.start(2), m.end(2), f"{(y or 1) * rng.choice([2.5, 3, 0.3]):.1f}")
    fn = re.search(r"\{([^{}x]*x[^{}]*)\}\s*;", code[s.start:s.end])
    if not fn:
        return None
    a = s.start + fn.start(1)
    return splice(code, a, s.start + fn.end(1), f"3*({fn.group(1)})")


@perturbation("latex", "missing_end", error="syntax")
def missing_end(code: str, rng: random.Random) -> str | None:
    ends = list(re.finditer(r"\\end\{(tikzpicture|axis|scope)\}", live(code)))
    if not ends:
        return None
    m = rng.choice(ends)
    return splice(code, m.start(), m.end(), "")


@perturbation("latex", "undefined_command", error="runtime")
def undefined_command(code: str, rng: random.Random) -> str | None:
    found = [s for s in statements(code) if s.command in ("draw", "node", "fill")]
    if not found:
        return None
    s = rng.choice(found)
    return splice(code, s.start, s.start + 1 + len(s.command), "\\" + s.command + "line")


PERTURBATIONS = [color, coordinates, line_style, line_width, arrow_tip, node_text, node_shape, remove_command, axis_option,
                 plot_data, missing_end, undefined_command]
