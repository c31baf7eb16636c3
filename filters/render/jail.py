"""The per-sample jail: what a sample runs inside, within its (already sandboxed) worker.

The worker holds warm state and must outlive every sample, so a sample is never trusted with it:

* **fresh namespaces per sample** -- a new user namespace (the sample's uid maps to the worker's
  own, unprivileged one), a new mount namespace with a fresh, size-bounded tmpfs on ``/tmp`` (its
  scratch folder and ``HOME``; gone with the sample, because the namespace is), shared state such
  as LaTeX formats remounted read-only, and -- for forked samples -- a new PID namespace whose
  init is the sample, with a ``/proc`` of its own: when it ends, the kernel ends every process it
  made. No ``/proc`` trick can hide one, and the worker is not in that namespace, so the sample
  cannot signal it. A forked sample also gets a network namespace and a session (so a scheduler
  autogroup) of its own; a helper program (pdflatex) gets a new root holding only what it reads.
* **no privilege** -- every capability dropped (effective, permitted, inheritable, ambient and
  the bounding set), ``no_new_privs``, and the seccomp filter of ``seccomp.py``.
* **the worker out of reach** -- the worker is non-dumpable (``/proc/<worker>/mem`` and ``fd/``
  need ptrace rights that a capability-less sample lacks), and the sample keeps only the one
  descriptor it replies on.

``enter_jail`` is called in a forked child (Python samples: born in its namespaces by one ``clone``,
``fork_into_namespaces``, where the worker is single-threaded) or as the ``preexec_fn`` of a helper
program (pdflatex). Where the kernel refuses nested namespaces it raises ``JailUnavailable`` and
the worker falls back to capability drop, ``no_new_privs``, seccomp and a fresh scratch folder.
"""
from __future__ import annotations

import ctypes
import os
import signal
from dataclasses import dataclass

from core.errors import VinciError

from . import seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, ST_RELATIME, MS_MOVE, MNT_DETACH = 1024, 2048, 1 << 21, 4096, 8192, 2
STASH_ROOT = "/dev/shm"
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 4, 24, 47, 4
PR_SET_PDEATHSIG = 1
CAP_LAST = 63
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYS_CLONE, SIGCHLD = 56, 17
SAMPLE_NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET

SCRATCH = "/tmp/work"
HOME = "/tmp/home"

_libc = ctypes.CDLL(None, use_errno=True)
_libc_holding_gil = ctypes.PyDLL(None, use_errno=True)  # clone, as os.fork, runs with the interpreter's lock held


class JailUnavailable(VinciError, OSError):
    """The kernel would not give this sample namespaces of its own."""

    def __init__(self, err: int, message: str):
        VinciError.__init__(self, message)
        self.errno = err


@dataclass(frozen=True)
class JailSpec:
    """What one sample gets: a scratch tmpfs of ``scratch_bytes`` and read-only shared folders."""

    scratch_bytes: int = 256 << 20
    readonly: tuple[str, ...] = ()
    keep_writable: str | None = None
    carry: tuple[str, ...] = ()  # folders the sample needs (the interpreter's trees), kept if under /tmp
    # For a helper program: when set, it runs in a new root that holds only these paths (read-only),
    # ``readonly``, ``keep_writable`` and /dev's null, zero, random and urandom -- nothing else of the host
    # exists there, whatever name it opens.
    visible: tuple[str, ...] = ()


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def make_non_dumpable() -> None:
    """Put the worker's memory and descriptors beyond ``/proc`` access by its own uid."""
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def new_namespaces(pid_namespace: bool) -> None:
    """Unshare user, mount and IPC (+ PID and network) namespaces, mapping the current uid/gid onto themselves.

    The IPC namespace takes SysV shared memory and message queues with it when the sample ends; a
    forked sample's network namespace takes its abstract unix socket names with it (a helper program
    such as pdflatex opens no socket).
    """
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | (CLONE_NEWPID | CLONE_NEWNET if pid_namespace else 0)
    _dumpable()
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise JailUnavailable(err, f"unshare: {os.strerror(err)}")
    map_ids(uid, gid)


def _dumpable() -> None:
    # A child of the non-dumpable worker is non-dumpable too, and the kernel then gives its /proc files
    # to host root: only where the sandbox uid *is* host root could it write its own uid_map. The sample
    # may look at its own memory; the worker stays non-dumpable.
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def map_ids(uid: int, gid: int) -> None:
    """Map the worker's uid and gid onto themselves in the user namespace just entered (nothing else)."""
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def fork_into_namespaces() -> tuple[int, tuple[int, int]]:
    """``fork``, with the child born in new user, mount, IPC, PID and network namespaces (``clone``): it is
    PID 1 of its own namespace at once, so no second fork of the whole worker is needed to get there
    (``become_pid_init``; that fork and the middle process's exit cost ~10-25 ms of CPU a sample).

    Returns ``(pid, (uid, gid))`` as ``os.fork`` returns the pid; the child gets the worker's ids, to map
    (``enter_jail(..., cloned=ids)``). Only a single-threaded process may call it: a raw ``clone`` skips
    glibc's fork handlers, which only matter where another thread could hold a lock. Raises
    ``JailUnavailable`` where the kernel refuses (the caller falls back to ``os.fork`` and ``unshare``).
    """
    ids = os.getuid(), os.getgid()
    if len(os.listdir("/proc/self/task")) != 1:
        raise JailUnavailable(0, "the worker has more than one thread")
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _libc_holding_gil.syscall(SYS_CLONE, SAMPLE_NAMESPACES | SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0, ids
    err = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise JailUnavailable(err, f"clone: {os.strerror(err)}")
    return pid, ids


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {target}")


def private_tmp(spec: JailSpec) -> None:
    """A fresh bounded tmpfs on /tmp with the sample's scratch and home; shared folders read-only.

    Read-only trees the worker has under /tmp (a checkout or a venv that lives there) are carried
    over: the fresh tmpfs is first mounted on /dev/shm, the old /tmp bound inside it, the tmpfs moved
    onto /tmp, each tree bound back at its own path, and the old /tmp detached.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    trees = _outermost([*_mounts_below("/tmp"), *(p for p in spec.carry if p.startswith("/tmp/") and os.path.isdir(p))])
    _mount("tmpfs", STASH_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec.scratch_bytes},mode=1777")
    if trees:
        os.mkdir(STASH_ROOT + "/.old-tmp")
        _mount("/tmp", STASH_ROOT + "/.old-tmp", None, MS_BIND | MS_REC)
    _mount(STASH_ROOT, "/tmp", None, MS_MOVE)
    for tree in trees:
        inside = "/tmp/.old-tmp" + tree[len("/tmp"):]
        os.makedirs(tree, exist_ok=True)
        _mount(inside, tree, None, MS_BIND | MS_REC)
        _mount(None, tree, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _mount_flags(tree))
    if trees:
        _check(_libc.umount2(b"/tmp/.old-tmp", MNT_DETACH), "umount /tmp/.old-tmp")
        os.rmdir("/tmp/.old-tmp")
    for holder in sorted({"/tmp/" + tree.split("/")[2] for tree in trees} - set(trees)):
        _readonly(holder)  # the folders made to hold those trees are not the sample's to write
    os.makedirs(SCRATCH, exist_ok=True)
    os.makedirs(HOME, exist_ok=True)
    for path in ("/dev", *spec.readonly):
        _readonly(path)
    _fresh_shm()
    fresh_proc()


def fresh_proc() -> None:
    """A ``/proc`` of the sample's own PID namespace: it sees its own processes only, numbered from 1,
    and nothing of the worker's (how many processes the samples before it forked, the worker's files).
    The kernel allows it only where the worker's ``/proc`` has no locked covers, i.e. where the sandbox
    uid is an unprivileged host uid (``launch.py``); elsewhere the worker's processes are made read-only."""
    if _libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) != 0:
        _other_processes_read_only()


def readonly_except(spec: JailSpec) -> None:
    """For helper programs: everything shared is read-only, only ``keep_writable`` stays writable."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if spec.keep_writable:
        _mount(spec.keep_writable, spec.keep_writable, None, MS_BIND | MS_REC)
    for path in ("/tmp", "/dev", *spec.readonly):
        _readonly(path)
    _fresh_shm()
    _other_processes_read_only()


ROOT_DEVICES = ("null", "zero", "random", "urandom")
ROOT_LINKS = {"/bin": "usr/bin", "/lib": "usr/lib", "/lib64": "usr/lib64", "/sbin": "usr/sbin"}
SYS_PIVOT_ROOT = 155


def bare_root(spec: JailSpec) -> None:
    """For helper programs that open files by names a document chooses (pdflatex through kpathsea, whose
    own checks run before ``$VARIABLE`` expansion): a new root where only ``spec.visible``,
    ``spec.readonly`` (read-only) and ``spec.keep_writable`` exist, entered with ``pivot_root`` and the
    old root detached, so no name -- expanded, relative or absolute -- reaches anything else."""
    cwd = os.getcwd()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    new = STASH_ROOT
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path in dict.fromkeys([*spec.visible, *spec.readonly]):
        if os.path.exists(path):
            _bind_into(new, path, writable=False)
    if spec.keep_writable:
        _bind_into(new, spec.keep_writable, writable=True)
    os.makedirs(new + "/dev", exist_ok=True)
    for name in ROOT_DEVICES:
        _bind_into(new, "/dev/" + name, writable=True)
    for link, target in ROOT_LINKS.items():
        if os.path.isdir(new + "/" + target):
            os.symlink(target, new + link)
    os.chdir(new)
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(cwd if os.path.isdir(cwd) else "/")


def _bind_into(root: str, path: str, writable: bool) -> None:
    """Bind ``path`` at the same place under ``root`` (a folder or a file)."""
    target = root + path
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(path, target, None, MS_BIND | MS_REC)
    if not writable:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _mount_flags(path))


def _mounts_below(folder: str) -> list[str]:
    """Mount points strictly below ``folder`` (outermost first), from this process's mount table."""
    found = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(folder + "/"):
                found.append(point)
    return _outermost(found)


def _outermost(paths: list[str]) -> list[str]:
    return sorted({p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths)})


def _other_processes_read_only() -> None:
    """The worker's ``/proc/<pid>`` files (``oom_score_adj``, ``coredump_filter`` …) belong to the uid
    the sample shares with it: they are bound read-only over themselves for the sample."""
    me = os.readlink("/proc/self")
    for name in os.listdir("/proc"):
        if name.isdigit() and name != me:
            try:
                _readonly(f"/proc/{name}")
            except FileNotFoundError:
                pass  # the process ended while we looked


def _fresh_shm() -> None:
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")


def _readonly(path: str) -> None:
    """Bind ``path`` over itself read-only, keeping the flags the kernel locks (noexec, atime …)."""
    if not os.path.isdir(path):
        return
    kept = _mount_flags(path)
    _mount(path, path, None, MS_BIND | MS_REC)
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | kept)


def _mount_flags(path: str) -> int:
    """``statvfs`` flags of the mount holding ``path`` as ``mount(2)`` flags (they share values, except relatime)."""
    flags = os.statvfs(path).f_flag
    kept = flags & (MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return kept | (MS_RELATIME if flags & ST_RELATIME else 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> None:
    """No capability of any kind, no way to gain one, and the seccomp filter."""
    for cap in range(CAP_LAST + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last cap; EPERM where already gone
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    seccomp.install()


def enter_jail(spec: JailSpec, *, fork_sample: bool, cloned: tuple[int, int] | None = None) -> None:
    """Confine the calling process (a fresh child of the worker) for one sample.

    ``fork_sample``: the caller is about to run Python code in-process; it gets a PID namespace
    whose init it becomes (``become_pid_init``) and a fresh private ``/tmp``. Otherwise (a helper
    program about to ``exec``) only ``spec.keep_writable`` stays writable. ``cloned``: the caller was
    born in its namespaces (``fork_into_namespaces``) with these ids to map; it is PID 1 already.
    """
    if seccomp.supported():
        seccomp.program()  # ready before the file system goes read-only (a worker has it already)
    if cloned is None:
        new_namespaces(pid_namespace=fork_sample)
        if fork_sample:
            become_pid_init()
    else:
        _dumpable()
        map_ids(*cloned)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the worker, as it died with the middle
    if fork_sample:
        private_tmp(spec)
    elif spec.visible:
        bare_root(spec)
    else:
        readonly_except(spec)
    drop_privileges()


def become_pid_init() -> None:
    """Fork once more so the sample is PID 1 of its namespace; the middle process relays its end (the way
    of a child that could not be born in its namespaces: ``fork_into_namespaces`` needs no middle process).

    The middle process waits and then dies the same way the sample did, so the worker reads the
    sample's own exit status and CPU time. The sample, in a process group of its own, dies with the
    middle process (``PR_SET_PDEATHSIG``), and everything it started dies with it (its PID namespace).
    The sample leads a session of its own: a signal it sends its own group cannot reach the middle
    process, and it gets a scheduler autogroup of its own, whose nice value (``/proc/self/autogroup``)
    it may raise without slowing any later sample.
    """
    pid = os.fork()
    if pid == 0:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.setsid()
        return
    os.closerange(3, 1 << 16)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def credentials() -> dict[str, str]:
    """The uid, gid, capability sets, no_new_privs and seccomp mode of the calling process, from /proc."""
    wanted = ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
    out: dict[str, str] = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in wanted:
                out[key] = " ".join(value.split())
    return out


def describe(creds: dict[str, str]) -> str:
    return (f"uid={creds.get('Uid', '?').split()[0]} gid={creds.get('Gid', '?').split()[0]} "
            f"CapEff={creds.get('CapEff')} CapPrm={creds.get('CapPrm')} CapBnd={creds.get('CapBnd')} "
            f"CapAmb={creds.get('CapAmb')} NoNewPrivs={creds.get('NoNewPrivs')} Seccomp={creds.get('Seccomp')}")
