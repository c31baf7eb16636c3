"""Python (matplotlib) perturbations: edits located on the AST and spliced into the original text.

Splicing at the node's exact source span keeps every other byte of the script (comments, layout),
so the flawed and the correct program differ only where the flaw is.
"""
from __future__ import annotations

import ast
import random
import re

from core.bounded import parse_python
from core.errors import Rejected

from .base import far_color, perturbation, scale_number

COLOR_KEYS = {"color", "c", "facecolor", "edgecolor", "colors", "ecolor", "markerfacecolor", "markeredgecolor", "fc", "ec"}
STYLE_KEYS = {"marker", "linestyle", "ls", "fmt"}
MARKERS = ["o", "s", "^", "D", "x", "*", "v", "+", "p", "h"]
LINESTYLES = ["-", "--", "-.", ":"]
TEXT_CALLS = {"set_title", "title", "suptitle", "set_xlabel", "set_ylabel", "xlabel", "ylabel", "set_zlabel"}
REMOVABLE_CALLS = TEXT_CALLS | {"legend", "grid", "colorbar", "bar_label", "clabel"}
PLOT_CALLS = {"plot", "bar", "barh", "scatter", "fill_between", "hist", "pie", "errorbar", "step", "stackplot", "boxplot",
              "violinplot", "imshow", "contour", "contourf", "plot_surface", "fill", "text", "annotate", "axvline",
              "axhline", "semilogy", "semilogx", "loglog"}
LIMIT_CALLS = {"set_xlim", "set_ylim", "xlim", "ylim", "set_zlim"}
SWAPS = {"bar": "barh", "barh": "bar", "plot": "step", "step": "plot", "semilogy": "plot"}
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
NAMED = {"red", "blue", "green", "orange", "purple", "black", "gray", "grey", "navy", "teal", "crimson", "gold", "white",
         "darkblue", "darkred", "darkgreen", "steelblue", "tomato", "skyblue", "salmon", "olive", "brown", "pink"}


class CodeText:
    """Maps AST positions (1-based lines, UTF-8 byte columns) to string offsets of the original code."""

    def __init__(self, code: str):
        self.code = code
        self.lines = code.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def replace(self, node: ast.AST, text: str) -> str:
        a, b = self.span(node)
        return self.code[:a] + text + self.code[b:]

    def rename_method(self, call: ast.Call, attr: str) -> str:
        """``owner.old(...)`` → ``owner.attr(...)``, the receiver kept byte for byte."""
        owner = self.code[slice(*self.span(call.func.value))]
        return self.replace(call.func, f"{owner}.{attr}")

    def remove_statement(self, stmt: ast.stmt, parent_body: list) -> str:
        if len(parent_body) == 1:
            return self.replace(stmt, "pass")
        a = self.starts[stmt.lineno - 1]
        b = self.starts[stmt.end_lineno]
        return self.code[:a] + self.code[b:]


def parse(code: str):
    try:
        return parse_python(code)
    except Rejected:
        return None


def call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def statements(tree: ast.Module):
    """(statement, body it belongs to) for every statement, nested blocks included."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                for stmt in body:
                    if isinstance(stmt, ast.stmt):
                        yield stmt, body


def string_constants(node: ast.AST):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub


def is_color(value: str) -> bool:
    return bool(HEX.match(value)) or value.startswith("tab:") or value.lower() in NAMED


def number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)):
        return -float(node.operand.value)
    return None


def fmt(value: float, like: ast.AST) -> str:
    if isinstance(like, ast.Constant) and isinstance(like.value, int):
        return str(int(round(value)))
    return repr(round(value, 2))


def pick(rng: random.Random, items: list):
    return rng.choice(items) if items else None


@perturbation("python", "color")
def color(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in COLOR_KEYS:
            found += [c for c in string_constants(node.value) if is_color(c.value)]
        elif isinstance(node, (ast.List, ast.Tuple)):
            found += [c for c in node.elts[:2] if isinstance(c, ast.Constant) and isinstance(c.value, str) and HEX.match(c.value)]
    target = pick(rng, sorted(set(found), key=lambda n: (n.lineno, n.col_offset)))
    if target is None:
        return None
    return CodeText(code).replace(target, repr(far_color(rng, target.value)))


@perturbation("python", "line_style")
def line_style(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = [(k.arg, k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg in STYLE_KEYS
             and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)]
    found += [("fmt", c.args[2]) for c in ast.walk(tree) if isinstance(c, ast.Call) and call_name(c) in ("plot", "semilogy")
              and len(c.args) >= 3 and isinstance(c.args[2], ast.Constant) and isinstance(c.args[2].value, str)]
    found += [("linestyle", e) for n in ast.walk(tree) if isinstance(n, (ast.List, ast.Tuple)) for e in n.elts
              if isinstance(e, ast.Constant) and e.value in LINESTYLES]
    choice = pick(rng, found)
    if choice is None:
        return None
    key, target = choice
    if key == "marker":
        new = rng.choice([m for m in MARKERS if m != target.value])
    elif key == "fmt":
        new = rng.choice([m for m in MARKERS if m not in target.value]) + rng.choice([s for s in LINESTYLES if s not in target.value] or ["-"])
    else:
        new = rng.choice([s for s in LINESTYLES if s != target.value])
    return CodeText(code).replace(target, repr(new))


@perturbation("python", "data_values")
def data_values(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    lists = [n for n in ast.walk(tree) if isinstance(n, (ast.List, ast.Tuple)) and len(n.elts) >= 3
             and all(number(e) is not None for e in n.elts)]
    target = pick(rng, lists)
    if target is None:
        return None
    values = [number(e) for e in target.elts]
    for i in rng.sample(range(len(values)), max(1, len(values) // 3)):
        values[i] = scale_number(values[i] if values[i] else 1.0, rng, 1.8, 3.0)
    body = ", ".join(fmt(v, e) for v, e in zip(values, target.elts))
    text = f"[{body}]" if isinstance(target, ast.List) else f"({body})"
    return CodeText(code).replace(target, text)


@perturbation("python", "axis_scale")
def axis_scale(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and call_name(n) in LIMIT_CALLS]
    numbers = [a for c in calls for a in [*c.args, *(k.value for k in c.keywords)] if number(a) is not None]
    if numbers:
        target = rng.choice(numbers)
        value = number(target)
        return CodeText(code).replace(target, fmt(value + (abs(value) or 10) * rng.uniform(0.5, 1.5), target))
    scale_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                   and n.func.attr in ("semilogy", "semilogx", "loglog", "set_yscale", "set_xscale")]
    node = pick(rng, scale_calls)
    if node is None:
        return None
    src = CodeText(code)
    if node.func.attr in ("set_yscale", "set_xscale"):
        arg = node.args[0] if node.args and isinstance(node.args[0], ast.Constant) else None
        return src.replace(arg, repr("linear" if arg.value == "log" else "log")) if arg is not None else None
    return src.rename_method(node, "plot")


@perturbation("python", "remove_text")
def remove_text(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = [(s, body) for s, body in statements(tree) if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
             and call_name(s.value) in REMOVABLE_CALLS]
    choice = pick(rng, found)
    return CodeText(code).remove_statement(*choice) if choice else None


@perturbation("python", "alter_text")
def alter_text(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = [c.args[0] for c in ast.walk(tree) if isinstance(c, ast.Call) and call_name(c) in TEXT_CALLS and c.args
             and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)]
    found += [a.value for a in ast.walk(tree) if isinstance(a, ast.Assign) and isinstance(a.value, ast.Constant)
              and isinstance(a.value.value, str) and any(isinstance(t, ast.Name) and ("TITLE" in t.id.upper() or "LABEL" in t.id.upper()) for t in a.targets)]
    target = pick(rng, found)
    if target is None:
        return None
    words = ["Quarterly overview of all measured regions", "Response (normalised units)", "TOTAL VOLUME IN THOUSANDS",
             "Sensor drift after recalibration", "Annual summary 2019-2024", "Index value relative to baseline"]
    return CodeText(code).replace(target, repr(rng.choice([w for w in words if w != target.value])))


@perturbation("python", "kind_swap")
def kind_swap(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in SWAPS
             and not ({k.arg for k in c.keywords} & {"width", "height", "bottom", "left", "where"})]
    target = pick(rng, found)
    return CodeText(code).rename_method(target, SWAPS[target.func.attr]) if target is not None else None


@perturbation("python", "figure_size")
def figure_size(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    tuples = [k.value for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "figsize" and isinstance(k.value, ast.Tuple)]
    names = {k.value.id for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "figsize" and isinstance(k.value, ast.Name)}
    tuples += [a.value for a in ast.walk(tree) if isinstance(a, ast.Assign) and isinstance(a.value, ast.Tuple)
               and any(isinstance(t, ast.Name) and t.id in names for t in a.targets)]
    tuples = [t for t in tuples if len(t.elts) == 2 and all(number(e) is not None for e in t.elts)]
    target = pick(rng, tuples)
    if target is None:
        return None
    w, h = (number(e) for e in target.elts)
    if rng.random() < 0.5:
        w = round(min(max(w * rng.uniform(1.3, 1.6), 2.0), 14.0), 1)
    else:
        h = round(min(max(h * rng.uniform(1.3, 1.6), 2.0), 12.0), 1)
    return CodeText(code).replace(target, f"({w}, {h})")


@perturbation("python", "font_size")
def font_size(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = [k.value for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg in ("fontsize", "size", "labelsize")
             and number(k.value) is not None]
    found += [a.value for a in ast.walk(tree) if isinstance(a, ast.Assign) and number(a.value) is not None
              and any(isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and "size" in str(t.slice.value) for t in a.targets)]
    target = pick(rng, found)
    if target is None:
        tree_calls = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and call_name(c) in ("set_title", "title", "suptitle")
                      and not any(k.arg == "fontsize" for k in c.keywords) and c.args]
        call = pick(rng, tree_calls)
        if call is None:
            return None
        src = CodeText(code)
        end = src.offset(call.end_lineno, call.end_col_offset) - 1
        return code[:end] + f", fontsize={rng.choice([20, 24, 28])}" + code[end:]
    return CodeText(code).replace(target, str(int(round(number(target) * rng.uniform(1.7, 2.2)))))


@perturbation("python", "drop_artist")
def drop_artist(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    found = [(s, body) for s, body in statements(tree) if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
             and call_name(s.value) in PLOT_CALLS]
    if len(found) < 2 and not any(isinstance(s, ast.For) for s, _ in statements(tree)):
        return None
    choice = pick(rng, found)
    return CodeText(code).remove_statement(*choice) if choice else None


@perturbation("python", "syntax_error", error="syntax")
def syntax_error(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    calls = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and (c.args or c.keywords)]
    target = pick(rng, calls)
    if target is None:
        return None
    end = CodeText(code).offset(target.end_lineno, target.end_col_offset)
    return code[:end - 1] + code[end:]


@perturbation("python", "undefined_name", error="runtime")
def undefined_name(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    assigned = {t.id for a in ast.walk(tree) if isinstance(a, ast.Assign) for t in a.targets if isinstance(t, ast.Name)}
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in assigned]
    target = pick(rng, uses)
    if target is None:
        return None
    return CodeText(code).replace(target, target.id + "_data")


@perturbation("python", "wrong_api", error="runtime")
def wrong_api(code: str, rng: random.Random) -> str | None:
    tree = parse(code)
    if tree is None:
        return None
    calls = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
             and c.func.attr in PLOT_CALLS | TEXT_CALLS]
    target = pick(rng, calls)
    if target is None:
        return None
    wrong = {"plot": "plot_line", "bar": "bars", "set_title": "set_titel", "scatter": "scater", "hist": "histogram",
             "legend": "legends", "set_xlabel": "set_x_label", "set_ylabel": "set_y_label"}.get(target.func.attr, target.func.attr + "_chart")
    return CodeText(code).rename_method(target, wrong)


PERTURBATIONS = [color, line_style, data_values, axis_scale, remove_text, alter_text, kind_swap, figure_size, font_size,
                 drop_artist, syntax_error, undefined_name, wrong_api]
