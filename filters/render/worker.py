"""The long-lived render worker: ``python -m filters.render.worker LANG``, started by the pool.

It speaks a framed protocol on private copies of stdin/stdout (file descriptors 0-2 are pointed at
``/dev/null`` first, so nothing a sample prints can forge a reply). Requests are JSON; replies are
a JSON header plus the PNG bytes, each echoing the request's ``seq``. The worker is non-dumpable,
so a sample that shares its uid cannot open its memory or descriptors through ``/proc``. Fork-mode
renderers run every sample in a child of the warm worker that enters a fresh jail (``jail.py``:
own user, mount and PID namespaces, a private bounded ``/tmp``, no capabilities, seccomp); after
each sample every process left in the worker's PID namespace is killed.
"""
from __future__ import annotations

import gc
import io
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback

from . import jail, seccomp
from .base import ERROR_KINDS, RenderError, normalize_png, renderer_class
from .protocol import MAX_HEADER, MAX_TRACE_BYTES, read_frame, write_frame
from .sandbox import (apply_sample_limits, cpu_used_s, install_audit_hook, kill_group, python_trees,
                      wall_deadline_s)

EXIT_WAIT_S = 2.0
MAX_MESSAGE_CHARS = 2000  # what the pool keeps of a failure's message (``RenderResult.failure``)
M_PERTURB, SCRUB_BYTE = -6, 0x5A  # glibc's mallopt: fill what is freed with this byte


class Worker:
    def __init__(self, lang: str, in_fd: int, out_fd: int):
        self.renderer = renderer_class(lang)()
        self.in_fd, self.out_fd = in_fd, out_fd
        self.limits = self.renderer.resources.sample
        self.jail_spec = jail.JailSpec(scratch_bytes=self.limits.scratch_bytes, carry=tuple(python_trees()))
        self.audit = os.environ.get("VINCI_AUDIT_HOOK") == "1"
        self.in_pid_namespace = os.environ.get("VINCI_PID_NAMESPACE") == "1"
        self.scratch_root = tempfile.mkdtemp(prefix="vinci-scratch-")
        self.jailed = False
        self.cloning = False  # samples are born in their namespaces (``jail.fork_into_namespaces``)

    def serve(self) -> None:
        jail.make_non_dumpable()
        if self.renderer.mode == "fork":
            scrub_freed_memory(True)
        if seccomp.supported():
            seccomp.program()  # generated once, here: every jail of this worker installs the same bytes
        self.jailed, credentials = self.probe_jail()
        self.renderer.jailed = self.jailed
        if seccomp.supported():
            # Samples of the other languages run in this process or its browser: the full filter covers
            # them here. A worker that builds jails keeps unshare and mount for that; its jails add the rest.
            seccomp.install(seccomp.JAIL_BUILDER if self.renderer.sample_in_jail else frozenset())
        prepare_image_checks(self.renderer.canvas)
        self.renderer.setup()
        if self.renderer.mode == "fork":
            gc.freeze()  # warm objects move out of the collector's reach: forked children copy fewer pages
        if self.renderer.mode == "parse":
            apply_sample_limits(self.limits, cpu_seconds=1 << 20)
        if not (self.jailed and self.renderer.sample_in_jail):
            credentials = jail.credentials()
        write_frame(self.out_fd, {"ready": True, "pid": os.getpid(), "sample": credentials,
                                  "confinement": self.confinement()})
        while True:
            frame = read_frame(self.in_fd)
            if frame is None:
                break
            request, payload = frame
            start = time.monotonic()
            try:
                raw, trace = self.run_sample(request["code"], float(request["timeout_s"]), support_files(request, payload),
                                             request.get("conventions") or None, request.get("trace"))
                # a forked sample writes its picture's bytes itself; the other renderers' encoders are vinci's
                png, width, height = normalize_png(raw, self.renderer.canvas, written_by_sample=self.renderer.mode == "fork")
                header = {"ok": True, "width": width, "height": height}
                if trace is not None:
                    header["trace"] = trace
            except RenderError as exc:
                png, header = b"", {"ok": False, "kind": exc.kind, "message": exc.message}
            except Exception as exc:  # noqa: BLE001 - whatever a sample provoked costs that sample, not the worker
                png, header = b"", {"ok": False, "kind": "runtime", "message": f"{type(exc).__name__}: {exc}"}
            header["elapsed_s"] = time.monotonic() - start
            header["seq"] = request.get("seq")
            write_frame(self.out_fd, *fitted(header, png))
        self.renderer.teardown()

    def confinement(self) -> str:
        """In words, where a sample of this worker runs (for the pool's log)."""
        if not self.renderer.sample_in_jail:
            return "inside the worker's namespaces, under its seccomp filter" + (
                "; page state cleared before every page" if self.renderer.keeps_processes else "")
        if not self.jailed:
            return "in a fresh scratch folder of the worker, without namespaces of its own"
        if self.renderer.mode == "fork":
            return (("forked straight into" if self.cloning else "in") + " its own user, mount, IPC, PID and network "
                    "namespaces and session, with its own /proc and a private bounded /tmp")
        return "in its own user, mount and IPC namespaces; only its scratch folder is writable"

    def probe_jail(self) -> tuple[bool, dict]:
        """Enter a sample jail once in a child and read back what a sample really holds: a child born in its
        namespaces where the kernel allows it (``cloning``), else one that unshares them and forks again."""
        for cloning in (True, False):
            jailed, credentials = self.probe_once(cloning)
            if jailed:
                self.cloning = cloning
                return jailed, credentials
        return jailed, credentials

    def probe_once(self, cloning: bool) -> tuple[bool, dict]:
        read_fd, write_fd = os.pipe()
        try:
            pid, ids = self.fork(cloning)
        except jail.JailUnavailable:
            os.close(read_fd)
            os.close(write_fd)
            return False, {}
        if pid == 0:
            try:
                os.close(read_fd)
                try:
                    jail.enter_jail(self.jail_spec, fork_sample=True, cloned=ids)
                    write_frame(write_fd, {"ok": True, "credentials": jail.credentials()})
                except OSError as exc:
                    jail.drop_privileges()
                    write_frame(write_fd, {"ok": False, "error": str(exc), "credentials": jail.credentials()})
            finally:
                os._exit(0)
        os.close(write_fd)
        try:
            frame = read_frame(read_fd, time.monotonic() + 30)
        except (TimeoutError, ValueError):
            frame = None
        os.close(read_fd)
        kill_group(pid)
        os.waitpid(pid, 0)
        if frame is None:
            return False, {}
        header, _ = frame
        if not header["ok"] and not cloning:
            print(f"vinci worker: no per-sample namespaces ({header['error']}); samples share the worker's", file=sys.stderr)
        return bool(header["ok"]), header.get("credentials", {})

    @staticmethod
    def fork(cloning: bool) -> tuple[int, tuple[int, int] | None]:
        """``os.fork``, or with ``cloning`` a fork whose child is born in its namespaces (then the ids to map)."""
        if cloning:
            return jail.fork_into_namespaces()
        return os.fork(), None

    def run_sample(self, code: str, timeout_s: float, files: dict[str, str | bytes], conventions: dict | None,
                   trace: str | None = None) -> tuple[bytes, str | None]:
        """The sample's raw image, and its trace when one was asked for (only forked renderers,
        whose samples are code, trace; a trace request to another renderer is unsupported)."""
        if self.renderer.mode == "fork":
            try:
                return self.run_forked(code, files, timeout_s, conventions, trace)
            finally:
                self.sweep()
        if trace is not None:
            raise RenderError("unsupported", f"the {self.renderer.lang} renderer records no trace")
        workdir = tempfile.mkdtemp(dir=self.scratch_root)
        try:
            write_support_files(workdir, files)
            if self.renderer.mode == "parse":
                return self.run_parser(code, workdir, timeout_s, conventions), None
            try:
                return self.renderer.render(code, workdir, timeout_s, conventions), None
            except MemoryError:
                raise RenderError("memory", "the renderer ran out of memory") from None
        finally:
            if not self.renderer.keeps_processes:
                self.sweep()
            shutil.rmtree(workdir, ignore_errors=True)

    def run_parser(self, code: str, workdir: str, timeout_s: float, conventions: dict | None) -> bytes:
        """Render data in the worker itself under a CPU-time timer (the pool kills a stuck worker)."""
        def expire(_sig, _frame):
            raise RenderError("timeout", cpu_message(timeout_s))

        previous = signal.signal(signal.SIGPROF, expire)
        signal.setitimer(signal.ITIMER_PROF, timeout_s)
        try:
            return self.renderer.render(code, workdir, timeout_s, conventions)
        except MemoryError:
            raise RenderError("memory", "the sample exceeded the memory limit") from None
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)

    def run_forked(self, code: str, files: dict[str, str | bytes], timeout_s: float, conventions: dict | None,
                   trace: str | None = None) -> tuple[bytes, str | None]:
        fallback_dir = None if self.jailed else tempfile.mkdtemp(dir=self.scratch_root)
        read_fd, write_fd = os.pipe()
        try:
            pid, ids = self.fork(self.cloning and fallback_dir is None)
        except jail.JailUnavailable:  # a thread appeared in the worker: the two-fork way, never unjailed
            pid, ids = os.fork(), None
        if pid == 0:
            os.close(read_fd)
            self.child(code, files, timeout_s, conventions, write_fd, fallback_dir, trace, ids)
        os.close(write_fd)
        deadline = time.monotonic() + wall_deadline_s(timeout_s)
        try:
            frame = read_frame(read_fd, deadline)
        except TimeoutError:
            frame = "timeout"
        except (ValueError, RecursionError):  # a header nested past the decoder's stack is malformed too
            frame = None
        finally:
            os.close(read_fd)
        # A sample ends right after its reply; under load its exit (the PID namespace torn down) can take
        # seconds, so it gets what is left of its wall-clock deadline, not a fixed wait whose verdict
        # would move with the machine's load (a demo chart failed so at load 15).
        exited = frame != "timeout" and wait_exit(pid, max(EXIT_WAIT_S, deadline - time.monotonic()))
        kill_group(pid)
        _, status, usage = os.wait4(pid, 0)
        if fallback_dir:
            shutil.rmtree(fallback_dir, ignore_errors=True)
        if frame == "timeout":
            raise RenderError("timeout", f"the sample did not finish within its {wall_deadline_s(timeout_s):.0f} s "
                                         "wall-clock safety deadline")
        if cpu_used_s(usage) > timeout_s:
            raise RenderError("timeout", cpu_message(timeout_s))
        if frame is None:
            raise RenderError(*describe_death(status))
        if not exited:
            raise RenderError("runtime", "the sample did not end after it replied")
        return reply_payload(*frame)

    def child(self, code: str, files: dict[str, str | bytes], timeout_s: float, conventions: dict | None, write_fd: int,
              fallback_dir: str | None, trace: str | None = None, cloned: tuple[int, int] | None = None) -> None:
        """Runs in the forked child: jail, render, reply, exit without cleanup handlers."""
        try:
            scrub_freed_memory(False)  # the sample's own frees need no scrubbing: its memory dies with it
            os.setsid()  # a session, so a scheduler autogroup, of its own: not the worker's
            prefer_as_oom_victim()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, write_fd)
            os.closerange(write_fd + 1, 1 << 16)
            try:
                if fallback_dir is None:
                    jail.enter_jail(self.jail_spec, fork_sample=True, cloned=cloned)
                    workdir, home = jail.SCRATCH, jail.HOME
                else:
                    jail.drop_privileges()
                    workdir = home = fallback_dir
                os.environ.update(HOME=home, TMPDIR="/tmp" if fallback_dir is None else workdir)
                write_support_files(workdir, files)
                os.chdir(workdir)
                sys.path.insert(0, workdir)
                apply_sample_limits(self.limits, timeout_s)
                if self.audit:
                    install_audit_hook()
                if trace is None:
                    write_frame(write_fd, {"ok": True}, self.renderer.render(code, workdir, timeout_s, conventions))
                else:
                    png, traced = self.renderer.render(code, workdir, timeout_s, conventions, trace=trace)
                    write_frame(write_fd, {"ok": True, "trace": traced}, png)
            except RenderError as exc:
                write_frame(write_fd, {"ok": False, "kind": exc.kind, "message": exc.message[:MAX_MESSAGE_CHARS]})
            except MemoryError:
                write_frame(write_fd, {"ok": False, "kind": "memory", "message": "MemoryError"})
            except BaseException as exc:  # noqa: BLE001 - anything else the sample raised
                message = f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE_CHARS]  # a frame's worth of text is no message
                write_frame(write_fd, {"ok": False, "kind": "runtime", "message": message})
        finally:
            os._exit(0)

    def sweep(self) -> None:
        """Kill whatever a sample left behind, however it hid, without looking at ``/proc``.

        Inside the worker's own PID namespace every other process but its init belongs to a sample,
        and ``kill(-1)`` reaches exactly those (the kernel skips the caller and PID 1) in one pass
        under the task-list lock, so a fork bomb cannot outrun it.
        """
        if not self.in_pid_namespace:
            return
        for _ in range(200):
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                return
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            time.sleep(0.002)


def support_files(request: dict, payload: bytes) -> dict[str, str | bytes]:
    """A request's files: text ones from its header, binary ones cut from its payload by their sizes."""
    files: dict[str, str | bytes] = dict(request.get("files") or {})
    pos = 0
    for name, size in request.get("blobs") or []:
        files[name] = payload[pos:pos + size]
        pos += size
    return files


def write_support_files(workdir: str, files: dict[str, str | bytes]) -> None:
    """Place a sample's files (modules beside a script, pictures beside a page) in its scratch folder,
    never outside it."""
    for name, data in files.items():
        path = os.path.realpath(os.path.join(workdir, name))
        if not path.startswith(os.path.realpath(workdir) + os.sep):
            raise RenderError("forbidden", f"support file {name!r} would land outside the scratch folder")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(data, str):
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(data)
        else:
            with open(path, "wb") as fh:
                fh.write(data)


def scrub_freed_memory(on: bool) -> None:
    """In a forking worker, glibc overwrites every chunk it frees (``M_PERTURB``): every later sample is a
    copy of the worker's memory, and without this it finds an earlier sample's code, files and picture
    there (freed, not cleared) and can draw them into its own picture. The worker's extra cost is ~13 ms
    per sample (memset of what it frees: request, reply, the picture it re-encodes); a sample turns it
    off, its own memory dies with it."""
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc; elsewhere nothing to set
    if mallopt is not None:
        mallopt(M_PERTURB, SCRUB_BYTE if on else 0)


def prefer_as_oom_victim() -> None:
    """Raise this process's ``oom_score_adj`` (no privilege needed to raise it): when the worker's memory
    cgroup is full, the kernel kills a sample's process, not the warm worker beside it."""
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass


def wait_exit(pid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for a child to exit on its own, without reaping it."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        return bool(select.select([pidfd], [], [], timeout_s)[0])
    finally:
        os.close(pidfd)


def cpu_message(timeout_s: float) -> str:
    return f"the sample used more than its {timeout_s:g} s of CPU time"


def prepare_image_checks(canvas) -> None:
    """Import and configure the image decoder once, before any sample: a forked sample must find the
    worker exactly as every other sample found it, not changed by the checks of the samples before."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = canvas.max_pixels
    probe = Image.new("RGB", (2, 2), (255, 255, 255))
    probe.putpixel((0, 0), (0, 0, 0))
    buf = io.BytesIO()
    probe.save(buf, format="PNG")
    normalize_png(buf.getvalue(), canvas)
    Image.new("RGBA", (2, 2)).save(io.BytesIO(), format="PNG")


def reply_payload(header, payload: bytes) -> tuple[bytes, str | None]:
    """A sample child's reply, read as untrusted: anything but a well-formed answer is its failure.
    A trace is passed on as text of bounded size, never interpreted here."""
    if not isinstance(header, dict):
        raise RenderError("runtime", "the sample sent a malformed reply")
    if header.get("ok") is True:
        trace = header.get("trace")
        if trace is not None and (not isinstance(trace, str) or len(trace) > MAX_TRACE_BYTES):
            raise RenderError("runtime", "the sample sent a malformed trace")
        return payload, trace
    kind = header.get("kind")
    message = header.get("message")
    raise RenderError(kind if kind in ERROR_KINDS else "runtime", message if isinstance(message, str) else "")


def fitted(header: dict, png: bytes) -> tuple[dict, bytes]:
    """The reply as the pool will accept it: a failure's message cut to what the pool keeps, and a reply
    that still would not fit a frame (a trace of characters that JSON escapes into six or twelve bytes
    each) turned into that sample's failure. A sample's text must never make the pool refuse the
    worker's frame: it would replace the worker and retry the sample, twice, for nothing."""
    if isinstance(header.get("message"), str):
        header["message"] = header["message"][:MAX_MESSAGE_CHARS]
    if len(json.dumps(header)) <= MAX_HEADER - 256:
        return header, png
    failed = {"ok": False, "kind": "runtime", "message": "the sample's reply is larger than a reply may be"}
    return {**failed, "elapsed_s": header.get("elapsed_s"), "seq": header.get("seq")}, b""


def describe_death(status: int) -> tuple[str, str]:
    """Name the way a sample child died without replying."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", "the sample used more than its CPU-time budget"
        if sig == signal.SIGXFSZ:
            return "forbidden", "the sample exceeded the file-size limit"
        if sig == signal.SIGKILL:
            return "memory", "the sample was killed (out of memory or over a limit)"
        return "runtime", f"the sample crashed with signal {signal.Signals(sig).name}"
    return "runtime", f"the sample exited with status {os.WEXITSTATUS(status)} before replying"


def main() -> None:
    lang = sys.argv[1]
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)  # no folder a sample could write to is ever searched for modules
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    try:
        Worker(lang, in_fd, out_fd).serve()
    except Exception:  # noqa: BLE001 - report set-up failures to the pool's log, then exit
        traceback.print_exc()
        sys.exit(3)


if __name__ == "__main__":
    main()
