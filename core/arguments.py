"""Argument types of the command line: a bad value fails in argparse, before any work, in one line."""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A count that must be at least 1 (``-n``, ``--limit``, ``--workers``)."""
    return at_least(1)(text)


def at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def workers(text: str) -> int | str:
    """``auto`` (all cores) or a positive count."""
    return "auto" if text == "auto" else positive_int(text)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one ``error:`` line, like every other error of ``vinci``; ``--help`` shows the usage."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")
