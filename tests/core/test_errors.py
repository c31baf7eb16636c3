"""One error root: every exception class vinci defines derives from ``VinciError``, which the command
line catches once and prints as one line with its exit status."""
from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from core.errors import UsageError, VinciError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "sources", "filters", "training", "pipelines")
BUILTIN_ERRORS = {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)}


def exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every class whose bases name an exception (a builtin one or one of ours)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef):
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & BUILTIN_ERRORS or any(b.endswith(("Error", "Exception")) for b in bases):
                        found.append((module, node.name))
    return found


def test_every_exception_vinci_defines_derives_from_the_root():
    classes = exception_classes()
    assert len(classes) >= 20, classes  # the scan finds them (core, sources, filters, training, pipelines)
    strays = [f"{module}.{name}" for module, name in classes
              if not issubclass(getattr(importlib.import_module(module), name), VinciError)]
    assert strays == []


def test_the_message_is_one_line_naming_file_and_row():
    assert VinciError("not JSON", path="data.jsonl", row=7).line() == "data.jsonl: row 7: not JSON"
    assert VinciError("a\n  library's\n\nsecond line").line() == "a library's second line"
    from core.languages import UnknownLanguage

    assert UnknownLanguage("unknown language 'rust'").line() == "unknown language 'rust'"  # not KeyError's quotes
    assert (VinciError.exit_code, UsageError.exit_code) == (1, 2)


def test_the_command_line_catches_it_once(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["inspect", str(tmp_path / "nope"), "-o", str(tmp_path / "x.png")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: no such build folder\n"
    assert main(["inspect", str(tmp_path), "--reason", "blank", "-o", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == "error: --reason goes with --excluded\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources: []\n")
    assert main(["build", str(bad), "--plan"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: invalid manifest: sources") and err.count("\n") == 1


def test_a_bug_is_not_dressed_as_a_user_error(monkeypatch):
    """Only ``VinciError`` becomes one line: anything else is a bug in vinci and keeps its traceback."""
    from pipelines import cli

    def broken(args):
        raise ZeroDivisionError("bug")

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), broken))
    with pytest.raises(ZeroDivisionError):
        cli.main(["inspect", "x", "-o", "y.png"])


def _with_func(parser, func):
    parser.set_defaults(func=func)
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            sub.set_defaults(func=func)
    return parser
