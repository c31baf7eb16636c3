"""``DIR/build.log``: what the console showed during a build, and every warning, kept beside the rows.

The console streams are copied line by line (a progress bar only in its last state before its line
ends, not every redraw); log records at WARNING and above go to the file even when the console shows
only errors, and the error a build stops with. Each run appends, under a header naming the command, so a
resumed build keeps its history.
"""
from __future__ import annotations

import io
import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from core.errors import VinciError

LOG_NAME = "build.log"


class Tee(io.TextIOBase):
    """A console stream that also writes whole lines to ``log``."""

    def __init__(self, console: IO[str], log: IO[str]):
        self.console, self.log, self.pending = console, log, ""

    def write(self, text: str) -> int:
        self.console.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.log.write(last_redraw(line) + "\n")
        self.pending = last_redraw(self.pending)
        if lines:
            self.log.flush()
        return len(text)

    def flush(self) -> None:
        self.console.flush()

    def isatty(self) -> bool:
        return self.console.isatty()

    def fileno(self) -> int:
        return self.console.fileno()

    @property
    def encoding(self):
        return getattr(self.console, "encoding", "utf-8")

    def close_line(self) -> None:
        if self.pending.strip():
            self.log.write(self.pending + "\n")
        self.pending = ""


def last_redraw(line: str) -> str:
    """The text after a line's last carriage return that is not empty (a progress bar's final state)."""
    parts = [p for p in line.split("\r") if p.strip()]
    return parts[-1] if parts else ""


@contextmanager
def build_log(folder: str | Path, command: str, earlier: list[str] = ()) -> Iterator[Path]:
    """Copy stdout, stderr and warnings to ``folder/build.log`` while the block runs; ``earlier``: lines the
    console showed before the folder was known (the preflight's warnings)."""
    path = Path(folder) / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", errors="backslashreplace") as log:
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  {command}\n" + "".join(f"{line}\n" for line in earlier))
        out, err = Tee(sys.stdout, log), Tee(sys.stderr, log)
        root = logging.getLogger()
        shown = root.level  # what the console shows (-v lowers it); the file gets warnings below it too
        handler = logging.StreamHandler(log)
        handler.setLevel(logging.WARNING)
        handler.addFilter(lambda record: record.levelno < shown)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        consoles = {h: h.stream for h in root.handlers
                    if type(h) is logging.StreamHandler and h.stream in (sys.stdout, sys.stderr)}
        levels = {h: h.level for h in consoles}
        for console, stream in consoles.items():
            console.setStream(err if stream is sys.stderr else out)
            console.setLevel(max(console.level, shown))
        root.setLevel(min(shown, logging.WARNING))
        root.addHandler(handler)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        failure = None
        try:
            yield path
        except VinciError as exc:
            failure = exc
            raise
        finally:
            sys.stdout, sys.stderr = saved
            for console, stream in consoles.items():
                console.setStream(stream)
                console.setLevel(levels[console])
            out.close_line()
            err.close_line()
            root.removeHandler(handler)
            root.setLevel(shown)
            if failure is not None:  # the console gets this line from the command line's one handler
                log.write(f"error: {failure.line()}\n")
            log.flush()
