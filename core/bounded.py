"""Parsers of untrusted input on the host, bounded: a size cap checked before parsing, every failure
of the parser one typed error (``Rejected``), never a crashed build.

``ast.parse`` of a 15 KB script of nested unary minus raises ``MemoryError``; 7,000 chained calls
raise ``RecursionError``; a tree 2,000 lambdas deep parses, then crashes whatever walks it
recursively (``ast.unparse``, ``compile``). ``parse_python`` turns each into ``Rejected`` and refuses
trees deeper than ``MAX_AST_DEPTH`` (measured without recursion), so every later recursive walk of a
tree it returns stays far inside Python's recursion limit.
"""
from __future__ import annotations

import ast

from .errors import Rejected

MAX_PYTHON_CHARS = 1 << 20
MAX_AST_DEPTH = 200


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
