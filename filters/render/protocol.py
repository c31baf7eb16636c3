"""The framed pipe protocol between the pool and its workers: a JSON header plus raw bytes.

No pickle crosses the sandbox boundary: a compromised worker can at worst send a bad image.
"""
from __future__ import annotations

import json
import os
import select
import struct
import time

from core.errors import VinciError

FRAME = struct.Struct("<II")
MAX_HEADER = 1 << 20
MAX_PAYLOAD = 64 << 20  # a 16.7 Mpx canvas is 50 MB of raw RGB; no honest PNG is larger
MAX_TRACE_BYTES = 256 << 10  # a drawing trace (``chart_trace``) is JSON text of at most this many characters


class FrameTooLarge(VinciError, ValueError):
    """A frame over ``MAX_HEADER``/``MAX_PAYLOAD``, refused before any byte of it is written."""


def write_frame(fd: int, header: dict, payload: bytes = b"") -> None:
    data = json.dumps(header).encode()
    if len(data) > MAX_HEADER or len(payload) > MAX_PAYLOAD:
        raise FrameTooLarge(f"a frame of {len(data):,} + {len(payload):,} bytes (caps {MAX_HEADER:,} + {MAX_PAYLOAD:,})")
    buf = FRAME.pack(len(data), len(payload)) + data + payload
    view = memoryview(buf)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd: int, n: int, deadline: float | None = None) -> bytes | None:
    """Read ``n`` bytes; ``None`` on EOF; ``TimeoutError`` past ``deadline`` (monotonic)."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> tuple[dict, bytes] | None:
    head = read_exact(fd, FRAME.size, deadline)
    if head is None:
        return None
    header_len, payload_len = FRAME.unpack(head)
    if header_len > MAX_HEADER or payload_len > MAX_PAYLOAD:
        raise ValueError(f"oversized frame ({header_len}, {payload_len})")
    header = read_exact(fd, header_len, deadline)
    payload = read_exact(fd, payload_len, deadline) if payload_len else b""
    if header is None or payload is None:
        return None
    return json.loads(header), payload
