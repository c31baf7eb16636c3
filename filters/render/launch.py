"""Start a worker's bubblewrap as the dedicated unprivileged host uid; run as root by the pool.

    python -I -S launch.py '{"uid": U, "trees": [...]}' bwrap ARGS...

When vinci runs as root, bubblewrap's sandbox uid would map to host root, and every kernel interface
that trusts uid 0 by file permission alone (``/proc/sys``, root-only ``/proc`` files, per-user quotas)
would need a cover. Run as an unprivileged uid instead, the kernel refuses those by itself, and
bubblewrap puts no locked mounts over ``/proc`` -- which lets each sample mount a ``/proc`` of its own
PID namespace (``jail.fresh_proc``).

That uid cannot walk into folders such as ``/root`` where the interpreter may live, so, still root,
this program binds every tree the sandbox shows read-only under a private tmpfs (``STAGE/<i>``, in a
mount namespace of its own, invisible to the host), and bubblewrap binds them back from there at their
own paths. Then it drops every group and capability, becomes the uid, and executes bubblewrap.
Standalone on purpose (``-I -S``: nothing from the environment or site-packages is imported as root).
"""
from __future__ import annotations

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
STAGE = "/dev/shm"  # in the private mount namespace only; bubblewrap gives the sandbox a /dev of its own

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                   flags, data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def staged(index: int) -> str:
    return f"{STAGE}/{index}"


def stage(trees: list[str]) -> None:
    if _libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNS): {os.strerror(err)}")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    for index, tree in enumerate(trees):
        target = staged(index)
        if os.path.isdir(tree):
            os.mkdir(target)
        else:
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        _mount(tree, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _kept_flags(tree))
    _mount(None, STAGE, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,mode=755")


def _kept_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return flags & (8 | 1024 | 2048) | ((1 << 21) if flags & 4096 else 0)  # noexec, noatime, nodiratime, relatime


def become(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another uid: every capability set is emptied
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("the uid did not change")


def main() -> None:
    spec = json.loads(sys.argv[1])
    command = sys.argv[2:]
    stage(spec["trees"])
    become(int(spec["uid"]))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
