"""Which helper modules beside a script the script really imports.

A harvested matplotlib script may import a module next to it (``from style import palette``);
the sandbox needs that file, and only that one: carrying every sibling script into every row makes
a folder of N scripts cost N² texts. Imports are read from the syntax tree (a regex where the
script does not parse), and followed through the helpers themselves.
"""
from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath
from typing import Callable, Mapping

from core.bounded import parse_python
from core.errors import Rejected

IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+(\.*)(\w[\w.]*|(?<=\.))[ \t]+import[ \t]+([\w \t,().*]+)|import[ \t]+([\w. \t,]+))", re.M)


def imported_names(code: str) -> set[str]:
    """Top-level module names a script imports; ``from . import x`` and ``from .x import y`` name ``x``."""
    try:
        tree = parse_python(code)
    except Rejected:
        return _imported_names_by_regex(code)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                names.add(node.module.split(".")[0])
            elif node.level:
                names.update(alias.name for alias in node.names)
    return names


def _imported_names_by_regex(code: str) -> set[str]:
    names: set[str] = set()
    for dots, module, imported, plain in IMPORT_LINE.findall(code):
        if plain:
            names.update(part.split()[0].split(".")[0] for part in plain.split(",") if part.strip())
        elif module:
            names.add(module.split(".")[0])
        elif dots:
            names.update(part.split()[0] for part in re.split(r"[,()]", imported) if part.strip() and part.strip() != "*")
    return {n.strip() for n in names if n.strip().isidentifier()}


def needed_helpers(code: str, siblings: Mapping[str, str], read: Callable[[str], str | None]) -> dict[str, str]:
    """``{file name: text}`` of the sibling modules ``code`` imports, directly or through each other.

    ``siblings`` maps a module name (``style``) to its path in the tree (``charts/style.py``);
    ``read`` returns a path's text, or ``None`` where it cannot be read (then it is left out).
    """
    found: dict[str, str] = {}
    todo = sorted(imported_names(code) & siblings.keys())
    seen = set(todo)
    while todo:
        path = siblings[todo.pop(0)]
        text = read(path)
        if text is None:
            continue
        found[PurePosixPath(path).name] = text
        for name in sorted(imported_names(text) & siblings.keys() - seen):
            seen.add(name)
            todo.append(name)
    return found
