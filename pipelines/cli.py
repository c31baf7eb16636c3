"""The ``vinci`` command line: each package adds its own commands; this module only composes them.

``sources`` (harvest), ``filters`` (render), ``pipelines`` (build, inspect, export, push) and
``training`` (train, reward, eval, select) each export ``add_commands``; heavy imports wait until a
command runs. Commands raise ``core.errors.VinciError`` for anything the user can fix; it is caught
here, once, and becomes one line ``error: ...`` and the error's exit status (``-vv`` adds the traceback).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from core.arguments import OneLineParser
from core.errors import VinciError
from filters.commands import add_commands as add_render_commands
from sources.commands import add_commands as add_source_commands
from training.commands import add_commands as add_training_commands

from .commands import add_commands as add_corpus_commands


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="vinci", description="Build image-code corpora and train on them.")
    parser.add_argument("--version", action="version", version=f"vinci {installed_version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_render_commands, add_source_commands, add_corpus_commands, add_training_commands):
        add(sub)
    return parser


def installed_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("vinci")
    except metadata.PackageNotFoundError:
        return "(not installed: run from a checkout)"


def quiet_libraries() -> None:
    """Libraries that log their own copy of an error vinci reports (``datasets`` logs a bad file at ERROR
    on its own handler, in the middle of the progress bar) stay quiet unless ``-v`` is given."""
    os.environ.setdefault("DATASETS_VERBOSITY", "critical")
    for name in ("datasets", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = {0: logging.ERROR, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_libraries()
    try:
        return int(args.func(args) or 0)
    except VinciError as exc:
        logging.getLogger("vinci").debug("%s", type(exc).__name__, exc_info=True)
        print(f"error: {exc.line()}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
