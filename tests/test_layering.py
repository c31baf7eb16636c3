"""The packages form layers and no import runs upward: core < sources < filters < training < pipelines.

Every import is checked, those inside functions too (a lazy import is still a dependency); the
registry's module *names* (``core.languages``) are data, resolved at run time by the layer that
needs them, and are not imports.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "sources", "filters", "training", "pipelines")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in one file, relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            else:
                found.append((node.lineno, node.module))
    return found


def upward_imports() -> list[str]:
    bad = []
    for rank, layer in enumerate(LAYERS):
        for path in sorted((ROOT / layer).rglob("*.py")):
            for line, module in imports_of(path):
                top = module.split(".")[0]
                if top in LAYERS and LAYERS.index(top) > rank:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({layer} sits below {top})")
    return bad


def test_no_import_runs_upward():
    assert upward_imports() == []


def test_the_check_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    layer = tmp_path / "core"
    layer.mkdir()
    (layer / "x.py").write_text("def f():\n    from pipelines.build import Build\n")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "y.py").write_text("from ..filters import render\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = upward_imports()
    assert len(found) == 2 and "core/x.py:2 imports pipelines.build" in found[0] and "sources/y.py:1 imports filters" in found[1]
