"""The seccomp filter against the kernel's syscall table for x86_64, as libseccomp knows it: every call
gets the verdict the policy says, and every number past the reviewed ones is refused.

The program is read by a small classic-BPF interpreter over ``struct seccomp_data``, so every syscall
number and argument can be asked without running it; one forked child then installs it for real."""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct

import pytest

from filters.render import seccomp

pyseccomp = pytest.importorskip("pyseccomp")
pytestmark = pytest.mark.skipif(not seccomp.supported(), reason="the policy is written for x86_64")

AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, X32_BIT = 0xC000003E, 0x40000003, 0x40000000
ALLOW, KILL_PROCESS = 0x7FFF0000, 0x80000000
EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS


def run_bpf(blob: bytes, nr: int, arch: int = AUDIT_ARCH_X86_64, args: tuple[int, ...] = ()) -> int:
    """The action a classic-BPF seccomp program returns for one call."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(list(args) + [0] * (6 - len(args))))
    insns = [seccomp.INSN.unpack_from(blob, i) for i in range(0, len(blob), seccomp.INSN.size)]
    a = x = pc = 0
    mem = [0] * 16
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:                                   # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x00:                                 # ld #k
            a = k
        elif code == 0x01:                                 # ldx #k
            x = k
        elif code == 0x60:                                 # ld M[k]
            a = mem[k]
        elif code == 0x61:                                 # ldx M[k]
            x = mem[k]
        elif code == 0x02:                                 # st M[k]
            mem[k] = a
        elif code == 0x03:                                 # stx M[k]
            mem[k] = x
        elif code in (0x54, 0x44, 0x04, 0x14, 0x64, 0x74):  # alu and/or/add/sub/lsh/rsh #k
            a = {0x54: a & k, 0x44: a | k, 0x04: a + k, 0x14: a - k, 0x64: a << k, 0x74: a >> k}[code] & 0xFFFFFFFF
        elif code == 0x07:                                 # tax
            x = a
        elif code == 0x87:                                 # txa
            a = x
        elif code == 0x05:                                 # ja
            pc += k
        elif code in (0x15, 0x25, 0x35, 0x45, 0x1D, 0x2D, 0x3D, 0x4D):
            operand = x if code & 0x08 else k
            test = {0x10: a == operand, 0x20: a > operand, 0x30: a >= operand, 0x40: bool(a & operand)}[code & 0xF0]
            pc += jt if test else jf
        elif code == 0x06:                                 # ret #k
            return k
        elif code == 0x16:                                 # ret a
            return a
        else:
            raise AssertionError(f"BPF opcode {code:#x} not understood by this test")


def syscall_table() -> dict[int, str]:
    table = {}
    for nr in range(seccomp.HIGHEST_NUMBER + 1):
        try:
            table[nr] = pyseccomp.resolve_syscall(pyseccomp.Arch.X86_64, nr).decode()
        except ValueError:
            pass
    return table


def table_nr(table: dict[int, str], name: str) -> int:
    return next(nr for nr, known in table.items() if known == name)


def expected(name: str, nr: int) -> int:
    if nr > seccomp.REVIEWED_UP_TO or name == "clone3":
        return ENOSYS
    return EPERM if name in seccomp.DENIED else ALLOW


def test_every_syscall_in_the_table_gets_the_policys_verdict():
    blob = seccomp.program()
    table = syscall_table()
    assert len(table) > 300 and set(seccomp.DENIED) <= set(table.values())
    benign = {"socket": (socket.AF_UNIX,), "clone": (0x11,)}  # their arguments decide: see the next tests
    verdicts = {name: run_bpf(blob, nr, args=benign.get(name, ())) for nr, name in table.items()}
    wrong = {name: hex(got) for name, got in verdicts.items() if got != expected(name, table_nr(table, name))}
    assert wrong == {}


def test_calls_newer_than_the_review_are_refused_whatever_the_library_knows():
    blob = seccomp.program()
    # 457.. include calls added to Linux after the review (statmount, listmount, lsm_*, mseal, *xattrat …)
    refused = [run_bpf(blob, nr) for nr in range(seccomp.REVIEWED_UP_TO + 1, seccomp.HIGHEST_NUMBER + 1)]
    assert set(refused) == {ENOSYS}


def test_foreign_architectures_and_x32_kill_the_process():
    blob = seccomp.program()
    getpid = pyseccomp.resolve_syscall(pyseccomp.Arch.X86_64, "getpid")
    assert run_bpf(blob, getpid) == ALLOW
    assert run_bpf(blob, getpid | X32_BIT) == KILL_PROCESS
    assert run_bpf(blob, 20, arch=AUDIT_ARCH_I386) == KILL_PROCESS


def test_clone_flags_and_socket_families():
    blob = seccomp.program()
    clone = pyseccomp.resolve_syscall(pyseccomp.Arch.X86_64, "clone")
    sock = pyseccomp.resolve_syscall(pyseccomp.Arch.X86_64, "socket")
    thread_flags = 0x3D0F00  # what glibc's pthread_create passes
    assert run_bpf(blob, clone, args=(thread_flags,)) == ALLOW
    assert run_bpf(blob, clone, args=(0x11,)) == ALLOW  # fork: SIGCHLD
    for flag in seccomp.NAMESPACE_FLAGS:
        assert run_bpf(blob, clone, args=(thread_flags | flag,)) == EPERM, hex(flag)
    assert run_bpf(blob, sock, args=(socket.AF_UNIX,)) == ALLOW
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET, 1 | (1 << 32)):
        assert run_bpf(blob, sock, args=(family,)) == EPERM, family


def test_a_jail_builder_keeps_only_what_it_names():
    blob = seccomp.program(seccomp.JAIL_BUILDER)
    table = {name: nr for nr, name in syscall_table().items()}
    for name in seccomp.JAIL_BUILDER - {seccomp.CLONE_NAMESPACES}:
        assert run_bpf(blob, table[name]) == ALLOW
    for name in seccomp.DENIED - seccomp.JAIL_BUILDER:
        assert run_bpf(blob, table[name]) == EPERM, name


def test_only_a_jail_builder_may_clone_into_new_namespaces():
    """A worker that builds jails forks each sample straight into its namespaces (the power of the ``unshare``
    it keeps); without ``CLONE_NAMESPACES`` -- every sample, every other worker -- those flags are refused."""
    clone = pyseccomp.resolve_syscall(pyseccomp.Arch.X86_64, "clone")
    from filters.render.jail import SAMPLE_NAMESPACES

    sample_flags = SAMPLE_NAMESPACES | 0x11  # user, mount, IPC, PID, network; SIGCHLD
    builder = seccomp.program(seccomp.JAIL_BUILDER)
    assert run_bpf(builder, clone, args=(sample_flags,)) == ALLOW
    for allow in (frozenset(), seccomp.JAIL_BUILDER - {seccomp.CLONE_NAMESPACES}):
        blob = seccomp.program(allow)
        assert run_bpf(blob, clone, args=(sample_flags,)) == EPERM
        assert run_bpf(blob, clone, args=(0x11,)) == ALLOW


def test_the_installed_filter_refuses_in_a_real_process():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            seccomp.install()
            libc = ctypes.CDLL(None, use_errno=True)

            def errno_of(*call) -> int:
                return 0 if libc.syscall(*call) >= 0 else ctypes.get_errno()

            got = [errno_of(272, 0x10000000), errno_of(319, b"x", 0), errno_of(457, 0, 0, 0, 0),
                   errno_of(462, 0, 0, 0), errno_of(435, 0, 0), errno_of(41, socket.AF_INET, 1, 0),
                   errno_of(39)]
            os.write(w, repr(got).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    got = eval(os.read(r, 4096).decode())  # noqa: S307 - our own child's list of ints
    os.close(r)
    assert got == [errno.EPERM, errno.EPERM, errno.ENOSYS, errno.ENOSYS, errno.ENOSYS, errno.EPERM, 0]
