"""Ctrl-C at the command line: one line that says what is kept and how to go on, then exit at once."""
from __future__ import annotations

import os
import sys
from typing import NoReturn


def exit_interrupted(message: str) -> NoReturn:
    """Print ``interrupted: message`` and end the process with status 130 (128 + SIGINT).

    ``os._exit`` because a normal exit joins every worker thread, and threads blocked on renders or
    data loading that were just killed can take seconds to notice; whatever must be on disk already is
    (units and checkpoints are written by rename)."""
    print(f"interrupted: {message}", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)
