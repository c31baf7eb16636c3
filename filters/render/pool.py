"""Warm, sandboxed worker pools: the one way the project turns code into pictures.

``RenderPool`` keeps N workers of one language alive and spreads a batch over them;
``RenderService`` holds one pool per language, started on first use, and is what the pipeline,
the CLI and the ViRL reward call (``render_many``). A worker that misses its deadline or dies is
killed with everything it spawned and replaced; the batch carries on.
"""
from __future__ import annotations

import logging
import os
import queue
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Sequence

from core.errors import VinciError
from core.languages import LANGS

from .base import ERROR_KINDS, Canvas, RenderError, RenderResult, printable, renderer_class, resolve_conventions
from .jail import describe
from .sandbox import NAMESPACES, ProcessCage, detect_isolation, wall_deadline_s, worker_command
from .protocol import MAX_TRACE_BYTES, FrameTooLarge, read_frame, write_frame

log = logging.getLogger("vinci.render")

GRACE_S = 3.0
START_TIMEOUT_S = 120.0
Files = dict[str, "str | bytes"]  # a sample's files beside it: helper modules (text), pictures a page shows (bytes)


def pack_files(files: Files) -> tuple[dict[str, str], list[list], bytes]:
    """Text files go in the request's header; binary ones follow it as its payload, named with their sizes."""
    texts = {name: data for name, data in files.items() if isinstance(data, str)}
    binary = [(name, bytes(data)) for name, data in files.items() if not isinstance(data, str)]
    return texts, [[name, len(data)] for name, data in binary], b"".join(data for _, data in binary)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, without decoding it; (0, 0) for anything else."""
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


class WorkerGone(VinciError):
    """The worker died or stopped answering; the pool replaces it."""


class WorkerProcess:
    """Parent-side handle of one sandboxed worker."""

    def __init__(self, lang: str, isolation: str):
        self.lang = lang
        resources = renderer_class(lang).resources
        self.cage = ProcessCage(resources.tasks, resources.memory_bytes)
        self.seq = 0
        self.ready: dict = {}
        cmd, env = worker_command(lang, isolation)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cage.wrap(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, start_new_session=True, bufsize=0)
        self.in_fd, self.out_fd = self.proc.stdin.fileno(), self.proc.stdout.fileno()

    def wait_ready(self) -> "WorkerProcess":
        try:
            frame = read_frame(self.out_fd, time.monotonic() + START_TIMEOUT_S)
        except TimeoutError:
            frame = None
        if frame is None or not frame[0].get("ready"):
            tail = self.stderr_tail()
            self.kill()
            raise RuntimeError(f"the {self.lang} render worker failed to start:\n{tail}")
        self.ready = frame[0]
        return self

    def request(self, code: str, timeout_s: float, files: Files | None = None, conventions: dict | None = None,
                trace: str | None = None) -> RenderResult:
        start = time.monotonic()
        cpu_before = self.cpu_seconds()
        self.seq += 1
        texts, blobs, payload = pack_files(files or {})
        message = {"seq": self.seq, "code": code, "timeout_s": timeout_s, "files": texts, "blobs": blobs,
                   "conventions": conventions or {}}
        if trace is not None:
            message["trace"] = trace
        try:
            write_frame(self.in_fd, message, payload)
        except FrameTooLarge as exc:  # nothing was sent: the worker never sees it, and stays
            return RenderResult.failure("forbidden", f"the sample and its files are too large to send: {exc}")
        except OSError as exc:
            raise WorkerGone(str(exc)) from None
        try:
            frame = read_frame(self.out_fd, start + wall_deadline_s(timeout_s) + GRACE_S)
        except TimeoutError:
            raise WorkerGone("timeout") from None
        except (OSError, ValueError, RecursionError) as exc:
            raise WorkerGone(str(exc)) from None
        if frame is None:
            raise WorkerGone("died")
        header, png = frame
        if header.get("seq") != self.seq:
            raise WorkerGone(f"sent a reply to request {header.get('seq')!r} while {self.seq} was asked")
        elapsed = time.monotonic() - start
        result = self._result(header, png, elapsed, renderer_class(self.lang).canvas)
        result.cpu_s = max(0.0, self.cpu_seconds() - cpu_before)
        return result

    @staticmethod
    def _result(header: dict, png: bytes, elapsed: float, canvas: Canvas) -> RenderResult:
        """The worker's reply as a result, read as untrusted too (a parser exploit in an SVG or SMILES worker,
        or in Chromium, speaks for the worker): a malformed trace, or a picture that is not a PNG of the size
        the header says within the language's canvas, fails the sample before anything on the host decodes it."""
        if not header.get("ok"):
            kind, message = header.get("kind"), header.get("message")
            return RenderResult.failure(kind if kind in ERROR_KINDS else "runtime",
                                        message if isinstance(message, str) else "", elapsed)
        traced = header.get("trace")
        if traced is not None and (not isinstance(traced, str) or len(traced) > MAX_TRACE_BYTES):
            return RenderResult.failure("runtime", "the worker sent a malformed trace", elapsed)
        width, height = png_size(png)
        if (width, height) != (header.get("width"), header.get("height")) or not 0 < width * height <= canvas.max_pixels \
                or max(width, height) > canvas.max_side:
            return RenderResult.failure("runtime", f"the worker sent a picture of {width}x{height} pixels as "
                                        f"{header.get('width')!r}x{header.get('height')!r}", elapsed)
        return RenderResult(ok=True, png=png, elapsed_s=elapsed, width=width, height=height, trace=traced)

    def cpu_seconds(self) -> float:
        """CPU used so far by the worker and everything it spawned: its cage's accounting, else the
        worker's own times and those of the children it reaped (``/proc/PID/stat``, Chromium missed)."""
        counted = self.cage.cpu_seconds() if self.cage is not None else None
        if counted is not None:
            return counted
        if self.proc is None:
            return 0.0
        try:
            fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
            return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def stderr_tail(self, limit: int = 4000) -> str:
        """The end of the worker's stderr, every line marked as the sandbox's (it may carry text
        that a sample chose), with control characters shown escaped."""
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - limit))
            text = self.stderr.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        return "\n".join(f"  [{self.lang} sandbox stderr] {printable(line)}" for line in text.splitlines())

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.cage.remove()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ask politely (EOF), then make sure."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class RenderPool:
    """N warm workers of one language; thread-safe ``render_many``."""

    def __init__(self, lang: str, workers: int = 1, timeout_s: float = 10.0):
        if lang not in LANGS:
            raise RenderError("unsupported", f"no renderer for language {lang!r}; known: {', '.join(LANGS)}")
        self.lang, self.timeout_s = lang, timeout_s
        self.isolation = detect_isolation()
        level = logging.INFO if self.isolation == NAMESPACES else logging.WARNING
        log.log(level, "render pool %s: %d worker(s), isolation: %s", lang, workers, self.isolation)
        self._idle: queue.Queue[WorkerProcess | None] = queue.Queue()
        self._all: list[WorkerProcess] = []
        self._lock = threading.Lock()
        self._aborted = False
        # bubblewrap's --die-with-parent follows the *thread* that started it, so every worker is
        # started from this one thread, which lives as long as the pool.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix=f"spawn-{lang}")
        with ThreadPoolExecutor(workers) as starter:
            for worker in starter.map(lambda _: self._spawn(), range(workers)):
                self._idle.put(worker)
        if self._all:
            ready = self._all[0].ready
            log.info("render pool %s: a sample runs as %s, %s", lang, describe(ready.get("sample", {})),
                     ready.get("confinement", ""))
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix=f"render-{lang}")

    def _spawn(self) -> WorkerProcess:
        worker = self._spawner.submit(WorkerProcess, self.lang, self.isolation).result().wait_ready()
        with self._lock:
            self._all.append(worker)
        return worker

    def _replace(self, worker: WorkerProcess) -> WorkerProcess:
        worker.kill()
        with self._lock:
            self._all.remove(worker)
        return self._spawn()

    def render(self, code: str, timeout_s: float | None = None, files: Files | None = None,
               conventions: dict | None = None, trace: str | None = None) -> RenderResult:
        """Render one sample; ``files`` are placed beside it in its scratch folder, ``conventions`` say how it
        is drawn (``base.Convention``: a dataset's choices, or a benchmark's, as SVG's exact ``width`` and
        ``height``; ``None``: vinci's defaults), ``trace`` asks for a drawing trace beside the picture.

        A worker that dies is replaced and the sample tried once more on the fresh one, so a crash
        of the machinery (not of the sample) does not change which rows a build keeps; a sample
        that kills two workers is reported as a runtime failure. A missed deadline is not retried.
        """
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            conventions = resolve_conventions(renderer_class(self.lang), conventions) if conventions else None
        except ValueError as exc:
            return RenderResult.failure("unsupported", str(exc))
        worker = self._idle.get()
        try:
            for attempt in (1, 2):
                try:
                    return worker.request(code, timeout, files, conventions, trace)
                except WorkerGone as gone:
                    if self._aborted:
                        return RenderResult.failure("runtime", "the render pool was stopped")
                    log.warning("%s worker %s; replacing it. stderr tail:\n%s", self.lang, gone, worker.stderr_tail(800))
                    worker = self._replace(worker)
                    if str(gone) == "timeout":
                        return RenderResult.failure("timeout", "the sample did not finish within its "
                                                    f"{wall_deadline_s(timeout):.0f} s wall-clock safety deadline", timeout)
            return RenderResult.failure("runtime", "the render worker died on this sample, twice")
        finally:
            self._idle.put(worker)

    def render_many(self, codes: Iterable[str], timeout_s: float | None = None,
                    files: Sequence[Files | None] | None = None,
                    conventions: Sequence[dict | None] | None = None, trace: str | None = None) -> list[RenderResult]:
        codes = list(codes)
        files = list(files) if files is not None else [None] * len(codes)
        conventions = list(conventions) if conventions is not None else [None] * len(codes)
        return list(self._threads.map(lambda job: self.render(job[0], timeout_s, job[1], job[2], trace),
                                      zip(codes, files, conventions)))

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            worker.close()
        self._spawner.shutdown(wait=True)

    def abort(self) -> None:
        """Kill every worker now, waiting for no render (Ctrl-C): renders in flight fail, nothing restarts."""
        self._aborted = True
        self._spawner.shutdown(wait=False, cancel_futures=True)
        self._threads.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            worker.kill()

    def __enter__(self) -> "RenderPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RenderService:
    """One pool per language, started on first use; ``render_many`` over mixed-language batches."""

    def __init__(self, workers: int | dict[str, int] = 1, timeout_s: float = 10.0):
        self._workers, self.timeout_s = workers, timeout_s
        self._pools: dict[str, RenderPool] = {}
        self._lock = threading.Lock()

    def pool(self, lang: str) -> RenderPool:
        with self._lock:
            if lang not in self._pools:
                n = self._workers.get(lang, 1) if isinstance(self._workers, dict) else self._workers
                self._pools[lang] = RenderPool(lang, n, self.timeout_s)
            return self._pools[lang]

    def render_many(self, samples: Sequence[tuple], trace: str | None = None) -> list[RenderResult]:
        """Render ``(lang, code)``, ``(lang, code, files)`` or ``(lang, code, files, conventions)`` tuples;
        results come back in input order. ``trace`` asks every sample's renderer for a drawing trace
        (``RenderResult.trace``)."""
        results: list[RenderResult | None] = [None] * len(samples)
        by_lang: dict[str, list[int]] = {}
        for i, (lang, *_) in enumerate(samples):
            by_lang.setdefault(lang, []).append(i)

        def run(lang: str) -> None:
            idx = by_lang[lang]
            try:
                pool = self.pool(lang)
            except RenderError as exc:
                for i in idx:
                    results[i] = RenderResult.failure(exc.kind, exc.message)
                return
            files = [samples[i][2] if len(samples[i]) > 2 else None for i in idx]
            conventions = [samples[i][3] if len(samples[i]) > 3 else None for i in idx]
            for i, result in zip(idx, pool.render_many([samples[i][1] for i in idx], files=files, conventions=conventions,
                                                       trace=trace)):
                results[i] = result

        with ThreadPoolExecutor(max(1, len(by_lang))) as ex:
            list(ex.map(run, by_lang))
        return results  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def abort(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.abort()

    def __enter__(self) -> "RenderService":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

