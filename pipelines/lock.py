"""One build per folder at a time: an advisory lock that names its holder.

Two builds into one ``--out`` would both do the whole work and then race on the shard renames. The
lock is ``flock`` on ``DIR/.vinci-build.lock``; the file says who holds it (pid, host, start time) so
the second build can say so. The kernel drops a dead process's ``flock``, so a lock left by a build
that was killed (its pid gone) is simply taken over.
"""
from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from core.errors import BuildError

LOCK_NAME = ".vinci-build.lock"


class FolderLock:
    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK_NAME
        self._handle = None

    def acquire(self) -> "FolderLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise BuildError(f"{self.path.parent} is being built by {holder}; wait for that build to end "
                             "(or stop it) or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime())}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None
