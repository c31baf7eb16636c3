"""The seccomp filter that refuses the system calls a sample could use to break out, built with libseccomp.

Calls are named, and libseccomp (Debian's ``libseccomp2``, through ``pyseccomp``) resolves the names for
the architecture and writes the BPF program, arch check included: a foreign architecture or the x32
ABI kills the process, so no other syscall table can bypass the list. Refused calls fail with
``EPERM``; ``clone3`` with ``ENOSYS``, so libc falls back to ``clone``, whose flags the filter can read.
The filter allows by name every call of the table this list was reviewed against (x86_64 up to
``REVIEWED_UP_TO``) that it does not refuse, and answers ``ENOSYS`` to any other number: a call the
kernel gains later is refused until someone reads it and moves the line, never silently allowed (``tests/filters/render/test_seccomp.py`` compares the
filter with libseccomp's syscall table).

The program is generated once per process and installed with ``seccomp(2)`` after ``no_new_privs``
(a sample's jail installs it on every fork: loading bytes costs microseconds, generating them ~20 ms).
"""
from __future__ import annotations

import ctypes
import errno
import functools
import platform
import os
import struct

DENIED: frozenset[str] = frozenset({
    # privilege, mounts, namespaces, tracing, other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "unshare", "setns",
    "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
    # the kernel itself: modules, kexec, BPF, perf, keys, io_uring, userfaultfd, clocks, host settings
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf", "perf_event_open",
    "add_key", "request_key", "keyctl", "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
    "syslog", "uselib", "vhangup", "adjtimex", "acct", "settimeofday", "clock_settime", "swapon", "swapoff",
    "reboot", "sethostname", "setdomainname", "iopl", "ioperm", "quotactl", "lookup_dcookie",
    # per-user kernel quotas are charged to the uid that runs vinci: a sample must not use them up
    "inotify_init", "inotify_init1", "fanotify_init", "mq_open",
    # memory that RLIMIT_AS does not count: memfd pages and unattached SysV shared memory
    "memfd_create", "memfd_secret", "shmget",
})
# Not a call: ``clone`` with namespace flags, which a worker that builds jails uses to fork a sample straight
# into its namespaces (the same power as the ``unshare`` it keeps).
CLONE_NAMESPACES = "clone:namespaces"
JAIL_BUILDER = frozenset({"unshare", "mount", "umount2", "pivot_root", CLONE_NAMESPACES})
# x86_64's table as reviewed: 456 is futex_requeue (Linux 6.7); 451-456 (cachestat, fchmodat2,
# map_shadow_stack, futex_wake/wait/requeue) were read and are allowed.
REVIEWED_UP_TO = 456
HIGHEST_NUMBER = 1023  # the tests ask every number up to here
NAMESPACE_FLAGS = (0x00000080, 0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                   0x40000000)  # CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
AF_UNIX = 1

PR_SET_NO_NEW_PRIVS = 38
SYS_SECCOMP_X86_64 = 317
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2
INSN = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k


def supported() -> bool:
    return platform.machine() == "x86_64"


def program(allow: frozenset[str] = frozenset()) -> bytes:
    """The filter as BPF bytes; ``allow`` names denied calls to let through (a worker that builds jails
    needs ``JAIL_BUILDER``; its jailed children add the full filter). Raises ``OSError`` without libseccomp.
    Generated once per process and ``allow``: a jail, where no file can be written, finds it ready."""
    return _generate(frozenset(allow))


@functools.lru_cache(maxsize=None)
def _generate(allow: frozenset[str]) -> bytes:
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:
        raise OSError(errno.ENOSYS, f"libseccomp is not available: {exc}") from None
    arch = seccomp.Arch.X86_64
    unknown = [name for name in DENIED | (allow - {CLONE_NAMESPACES}) if seccomp.resolve_syscall(arch, name) < 0]
    if unknown:
        raise ValueError(f"syscalls unknown to libseccomp on x86_64: {', '.join(sorted(unknown))}")
    # Default ENOSYS: a number without a rule -- past the reviewed table, or a gap in it -- is refused
    # as a kernel without that call would refuse it; every reviewed call is named below.
    flt = seccomp.SyscallFilter(seccomp.ERRNO(errno.ENOSYS))
    flt.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    flt.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)  # a binary tree over the numbers, not a chain of tests
    deny = seccomp.ERRNO(errno.EPERM)
    for nr in range(REVIEWED_UP_TO + 1):
        try:
            name = seccomp.resolve_syscall(arch, nr).decode()
        except ValueError:
            continue  # a gap in the table
        if name in DENIED - allow:
            flt.add_rule(deny, name)
        elif name == "clone" and CLONE_NAMESPACES in allow:
            flt.add_rule(seccomp.ALLOW, name)
        elif name == "clone":
            flt.add_rule(seccomp.ALLOW, name, seccomp.Arg(0, seccomp.MASKED_EQ, sum(NAMESPACE_FLAGS), 0))
            for flag in NAMESPACE_FLAGS:
                flt.add_rule(deny, name, seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        elif name == "socket":
            flt.add_rule(seccomp.ALLOW, name, seccomp.Arg(0, seccomp.EQ, AF_UNIX))
            flt.add_rule(deny, name, seccomp.Arg(0, seccomp.NE, AF_UNIX))
        elif name != "clone3":  # clone3 keeps ENOSYS: libc falls back to clone, whose flags are read
            flt.add_rule(seccomp.ALLOW, name)
    read_end, write_end = os.pipe()  # no file: a jail may have no writable folder
    os.set_blocking(write_end, False)  # a program larger than the pipe fails instead of blocking
    try:
        with open(write_end, "wb", closefd=True) as out:
            flt.export_bpf(out)
        with open(read_end, "rb", closefd=False) as source:
            return source.read()
    finally:
        os.close(read_end)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(allow: frozenset[str] = frozenset()) -> None:
    """Set ``no_new_privs`` and load the filter into the calling thread (it is inherited by children).

    Raises ``OSError`` where the kernel refuses; the caller decides whether that is fatal.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if not supported():
        raise OSError(errno.ENOSYS, f"no seccomp policy for {platform.machine()}")
    blob = program(allow)
    buf = ctypes.create_string_buffer(blob, len(blob))
    prog = _SockFprog(len(blob) // INSN.size, ctypes.cast(buf, ctypes.c_void_p))
    # SPEC_ALLOW: on kernels whose speculative-store-bypass mitigation follows seccomp (an older
    # default), a filter would switch it on and slow plain computation; the sandbox's boundary is
    # the process, and what it could read speculatively inside it is its own sample.
    if libc.syscall(SYS_SECCOMP_X86_64, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, ctypes.byref(prog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER) failed")
