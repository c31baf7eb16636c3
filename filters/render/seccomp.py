"""A seccomp filter, built by hand, that refuses the system calls a sample could use to break out.

No library is needed: the filter is a short classic-BPF program over ``struct seccomp_data``
(``nr`` at offset 0, ``arch`` at 4, ``args[i]`` at 16 + 8 i), installed with ``seccomp(2)`` after
``no_new_privs``. Refused calls fail with ``EPERM`` (``clone3``
with ``ENOSYS``, so libc falls back to ``clone``, whose flags the filter can read). A foreign
architecture or the x32 ABI is refused as a whole, so no other syscall table can bypass the list.
"""
from __future__ import annotations

import ctypes
import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000

# x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED_X86_64: dict[str, int] = {
    "ptrace": 101, "syslog": 103, "uselib": 134, "vhangup": 153, "pivot_root": 155, "adjtimex": 159,
    "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167,
    "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "init_module": 175, "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "mount_setattr": 442,
    # Per-user kernel quotas are charged to the uid that runs vinci (root): a sample must not use them up.
    "inotify_init": 253, "inotify_init1": 294, "fanotify_init": 300, "mq_open": 240,
    # Memory that RLIMIT_AS does not count: memfd pages and unattached SysV shared memory.
    "memfd_create": 319, "memfd_secret": 447, "shmget": 29,
}
CLONE_X86_64, CLONE3_X86_64, SOCKET_X86_64 = 56, 435, 41
NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWTIME|NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
AF_UNIX = 1

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
LD_ABS = 0x20     # BPF_LD | BPF_W | BPF_ABS
JEQ = 0x15        # BPF_JMP | BPF_JEQ | BPF_K
JGE = 0x35        # BPF_JMP | BPF_JGE | BPF_K
JSET = 0x45       # BPF_JMP | BPF_JSET | BPF_K
RET = 0x06        # BPF_RET | BPF_K
PR_SET_NO_NEW_PRIVS = 38
SYS_SECCOMP_X86_64 = 317
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2


def _errno(code: int) -> int:
    return 0x00050000 | code


def supported() -> bool:
    return platform.machine() == "x86_64"


JAIL_BUILDER = frozenset({"unshare", "mount", "umount2", "pivot_root"})


def program(allow: frozenset[str] = frozenset()) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions; ``allow`` names denied calls to let through
    (a worker that builds jails needs ``JAIL_BUILDER``; its jailed children add the full filter)."""
    deny = _errno(errno.EPERM)
    insns = [(LD_ABS, 0, 0, 4), (JEQ, 1, 0, AUDIT_ARCH_X86_64), (RET, 0, 0, RET_KILL_PROCESS),
             (LD_ABS, 0, 0, 0), (JGE, 0, 1, X32_BIT), (RET, 0, 0, deny),
             (JEQ, 0, 1, CLONE3_X86_64), (RET, 0, 0, _errno(errno.ENOSYS))]
    for nr in sorted(nr for name, nr in DENIED_X86_64.items() if name not in allow):
        insns += [(JEQ, 0, 1, nr), (RET, 0, 0, deny)]
    # clone: refuse any namespace flag in args[0]
    insns += [(JEQ, 0, 4, CLONE_X86_64), (LD_ABS, 0, 0, 16), (JSET, 0, 1, NAMESPACE_FLAGS), (RET, 0, 0, deny),
              (RET, 0, 0, RET_ALLOW)]
    # socket: only AF_UNIX (there is no network in the sandbox anyway)
    insns += [(JEQ, 0, 4, SOCKET_X86_64), (LD_ABS, 0, 0, 16), (JEQ, 1, 0, AF_UNIX), (RET, 0, 0, deny),
              (RET, 0, 0, RET_ALLOW)]
    insns.append((RET, 0, 0, RET_ALLOW))
    return insns


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
        raise OSError(errno.ENOSYS, f"no seccomp syscall table for {platform.machine()}")
    insns = program(allow)
    blob = b"".join(struct.pack("<HBBI", *insn) for insn in insns)
    buf = ctypes.create_string_buffer(blob, len(blob))
    prog = _SockFprog(len(insns), ctypes.cast(buf, ctypes.c_void_p))
    # SPEC_ALLOW: on kernels whose speculative-store-bypass mitigation follows seccomp (an older
    # default), a filter would switch it on and slow plain computation; the sandbox's boundary is
    # the process, and what it could read speculatively inside it is its own sample.
    if libc.syscall(SYS_SECCOMP_X86_64, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, ctypes.byref(prog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER) failed")
