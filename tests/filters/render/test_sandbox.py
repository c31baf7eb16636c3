"""Hostile code: each attack fails cleanly (or does nothing) and the same pool renders the next sample."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from filters.render import RenderService, detect_isolation
from filters.render.sandbox import NAMESPACES, wall_deadline_s
from tests.conftest import image_of, render_one

NORMAL = {
    "python": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 3, 1])\n",
    "html": "<html><body><h1 style='color:#225'>still alive</h1></body></html>",
    "svg": '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="30" height="10" fill="blue"/></svg>',
    "latex": r"\begin{tikzpicture}\draw (0,0) circle (1);\end{tikzpicture}",
    "smiles": "c1ccncc1",
}


def assert_still_renders(service, lang):
    result = render_one(service, lang, NORMAL[lang])
    assert result.ok, f"{lang} pool did not recover: {result.message}"


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection it sees."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(0.5)
            try:
                self.seen.append(conn.recv(1024) or b"<connected>")
            except OSError:
                self.seen.append(b"<connected>")
            conn.close()

    def close(self):
        time.sleep(0.5)
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def count_processes() -> int:
    return sum(1 for p in os.listdir("/proc") if p.isdigit())


def test_isolation_level_is_reported():
    assert detect_isolation() in (NAMESPACES, "rlimits + scrubbed env + audit hook (no namespaces available)")


@pytest.mark.renders
def test_infinite_loop_times_out_on_its_cpu_budget(service):
    start = time.monotonic()
    result = render_one(service, "python", "while True:\n    pass\n")
    assert result.error_kind == "timeout" and "CPU" in result.message
    assert time.monotonic() - start < wall_deadline_s(service.timeout_s)
    assert_still_renders(service, "python")


@pytest.mark.renders
def test_a_sleeper_meets_the_wall_clock_safety_deadline():
    with RenderService(workers=1, timeout_s=0.5) as svc:
        start = time.monotonic()
        result = render_one(svc, "python", "import time\ntime.sleep(3600)\n")
        assert result.error_kind == "timeout" and "wall-clock" in result.message
        assert time.monotonic() - start < wall_deadline_s(0.5) + 3
        assert_still_renders(svc, "python")


@pytest.mark.renders
def test_verdicts_follow_cpu_time_not_machine_load(service):
    """Two busy loops beside the sample do not turn a 1.5 s-of-CPU sample into a timeout."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        code = ("import time\nt = time.process_time()\nwhile time.process_time() - t < 1.5:\n    pass\n"
                "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
        with RenderService(workers=1, timeout_s=3.0) as svc:
            assert render_one(svc, "python", code).ok
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()


@pytest.mark.renders
def test_fork_bomb_is_contained():
    with RenderService(workers=1, timeout_s=1.0) as svc:
        _fork_bomb_is_contained(svc)


def _fork_bomb_is_contained(service):
    worker = service.pool("python")._all[0]
    before = worker.cage.pids() if worker.cage.paths else count_processes()
    result = render_one(service, "python", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    assert not result.ok
    time.sleep(0.5)
    if worker.cage.paths:
        assert worker.cage.pids() == before, "processes of the bomb outlived it in the worker's cage"
    else:
        assert count_processes() <= before + 5
    assert_still_renders(service, "python")


@pytest.mark.renders
def test_huge_allocation_is_a_memory_error(service):
    result = render_one(service, "python", "x = bytearray(50 * 1024 ** 3)\n")
    assert result.error_kind == "memory"
    assert_still_renders(service, "python")


@pytest.mark.renders
def test_huge_file_write_is_stopped(service):
    code = "with open('big.bin', 'wb') as fh:\n    for _ in range(10240):\n        fh.write(b'0' * (1 << 20))\n"
    result = render_one(service, "python", code)
    assert result.error_kind in ("forbidden", "runtime")
    assert_still_renders(service, "python")


@pytest.mark.renders
def test_spawned_processes_do_not_escape(service, tmp_path):
    marker = tmp_path / "marker"
    code = (f"import os, subprocess\nos.system('touch {marker}')\n"
            "subprocess.Popen(['sleep', '977'], start_new_session=True)\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    render_one(service, "python", code)
    time.sleep(0.3)
    assert not marker.exists()
    leftovers = subprocess.run(["pgrep", "-f", "sleep 977"], capture_output=True, text=True).stdout.split()
    assert leftovers == []
    assert_still_renders(service, "python")


@pytest.mark.renders
def test_python_cannot_reach_a_local_listener(service, listener):
    code = (f"import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('127.0.0.1', {listener.port}))\n"
            "s.sendall(b'exfiltrate')\n")
    result = render_one(service, "python", code)
    assert not result.ok
    assert listener.seen == []


@pytest.mark.renders
def test_secrets_stay_outside(tmp_path, monkeypatch):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("s3cr3t-value")
    monkeypatch.setenv("HF_TOKEN", "hf_s3cr3t")
    code = ("import os\nimport matplotlib.pyplot as plt\n"
            "if any('s3cr3t' in v for v in os.environ.values()):\n    raise SystemExit('env secret visible')\n"
            f"try:\n    open({str(secret_file)!r}).read()\n    raise SystemExit('file secret visible')\n"
            "except FileNotFoundError:\n    pass\n"
            "plt.plot([1, 2, 3])\n")
    with RenderService(timeout_s=5.0) as svc:
        result = render_one(svc, "python", code)
    assert result.ok, result.message


@pytest.mark.renders
def test_input_and_show_do_not_hang(service):
    start = time.monotonic()
    code = ("import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\nplt.show()\n"
            "try:\n    input('name? ')\nexcept EOFError:\n    pass\n")
    result = render_one(service, "python", code)
    assert result.ok, result.message
    assert time.monotonic() - start < 3


@pytest.mark.renders
def test_gigantic_figure_is_refused(service):
    code = "import matplotlib.pyplot as plt\nplt.figure(figsize=(1000, 1000))\nplt.plot([1, 2])\n"
    result = render_one(service, "python", code)
    assert result.error_kind in ("forbidden", "memory")
    assert_still_renders(service, "python")


@pytest.mark.renders
@pytest.mark.needs_tex
def test_latex_shell_escape_and_absolute_input(service, tmp_path):
    marker = tmp_path / "pwned"
    escape = render_one(service, "latex", rf"\immediate\write18{{touch {marker}}}\begin{{tikzpicture}}\draw (0,0)--(1,1);\end{{tikzpicture}}")
    assert not marker.exists()
    assert escape.error_kind == "forbidden"
    secret = tmp_path / "secret.tex"
    secret.write_text("TOPSECRET")
    read = render_one(service, "latex", rf"\begin{{tikzpicture}}\node {{\input{{{secret}}}}};\end{{tikzpicture}}")
    assert not read.ok and "TOPSECRET" not in read.message
    assert_still_renders(service, "latex")


@pytest.mark.renders
def test_svg_entity_bomb_and_file_image(service, tmp_path):
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
           + ']><svg xmlns="http://www.w3.org/2000/svg"><text x="0" y="10">&lol9;</text></svg>')
    bomb = render_one(service, "svg", lol)
    assert bomb.error_kind in ("forbidden", "syntax")
    red = tmp_path / "red.svg"
    red.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>')
    code = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">'
            f'<circle cx="50" cy="50" r="20" fill="blue"/><image href="file://{red}" width="100" height="100"/></svg>')
    result = render_one(service, "svg", code)
    if result.ok:
        img = np.asarray(image_of(result.png)).astype(int)
        assert not ((img[..., 0] > 200) & (img[..., 1] < 60)).any(), "file:// image was loaded"
    assert_still_renders(service, "svg")


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_html_requests_never_leave(service, listener, tmp_path):
    url = f"http://127.0.0.1:{listener.port}"
    code = (f"<html><body><img src='{url}/img.png'><link rel=prefetch href='{url}/pre'>"
            f"<script>fetch('{url}/fetch'); navigator.sendBeacon('{url}/beacon', 'x');"
            f"try {{ new WebSocket('ws://127.0.0.1:{listener.port}/ws'); }} catch (e) {{}}</script>"
            "<p>hello</p></body></html>")
    result = render_one(service, "html", code)
    assert result.ok, result.message
    time.sleep(0.5)
    assert listener.seen == []


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_html_file_iframe_shows_nothing(service, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text("<body style='background:#ff0000'></body>")
    code = f"<html><body><p>frame:</p><iframe src='file://{secret}' width=900 height=600></iframe></body></html>"
    result = render_one(service, "html", code)
    assert result.ok, result.message
    img = np.asarray(image_of(result.png)).astype(int)
    assert not ((img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)).any()


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_html_busy_script_times_out_and_pool_recovers():
    with RenderService(workers=1, timeout_s=1.0) as svc:
        start = time.monotonic()
        result = render_one(svc, "html", "<html><body><script>while(true){}</script></body></html>")
        assert result.error_kind == "timeout"
        assert time.monotonic() - start < wall_deadline_s(1.0) + 10
        assert_still_renders(svc, "html")


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_a_page_that_replaces_what_the_capture_calls_still_renders_and_the_next_is_unchanged(service):
    alone = render_one(service, "html", "<html><body><h1>plain</h1></body></html>")
    hostile = ("<html><body><p>mine</p><script>document.getAnimations = 5; document.createTreeWalker = null;"
               "Math.max = () => 1e9; Object.defineProperty(document, 'fonts', {get() { throw new Error('no'); }});"
               "</script></body></html>")
    result = render_one(service, "html", hostile)
    assert result.ok, result.message
    assert result.height == 768  # its replacements never reach the capture, which runs in a world of its own
    again = render_one(service, "html", "<html><body><h1>plain</h1></body></html>")
    assert again.png == alone.png


@pytest.mark.renders
def test_smiles_invalid_and_huge(service):
    assert render_one(service, "smiles", "not a smiles").error_kind == "syntax"
    huge = render_one(service, "smiles", "C" * 2000)
    assert huge.error_kind == "forbidden"
    assert_still_renders(service, "smiles")


@pytest.mark.renders
def test_fallback_level_still_blocks_sockets_and_renders(tmp_path, listener):
    """Without namespaces (forced here), the audit hook refuses sockets; normal samples still render."""
    import sys

    env = {**os.environ, "VINCI_ISOLATION": "rlimits"}
    chart = tmp_path / "chart.py"
    chart.write_text(NORMAL["python"])
    spy = tmp_path / "spy.py"
    spy.write_text(f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), timeout=1).sendall(b'x')\n")
    ok = subprocess.run([sys.executable, "-m", "pipelines.cli", "-v", "render", str(chart), "-o", str(tmp_path / "c.png")],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "isolation: rlimits" in ok.stderr
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "render", str(spy), "-o", str(tmp_path / "s.png")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "error: runtime: PermissionError" in bad.stderr
    time.sleep(0.3)
    assert listener.seen == []


def _kill_workers_while_rendering(pool, times: int) -> threading.Thread:
    """Kill the pool's busy worker ``times`` times, each once a new worker has taken the sample."""
    def run():
        seen: set[int] = set()
        while len(seen) < times:
            with pool._lock:
                live = [w for w in pool._all if w.proc.pid not in seen]
            if live:
                time.sleep(0.5)
                seen.add(live[0].proc.pid)
                os.killpg(live[0].proc.pid, 9)
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.renders
def test_a_worker_killed_under_a_sample_is_replaced_and_the_sample_retried_once():
    sleepy = "import time\ntime.sleep(1.5)\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
    with RenderService(workers=1, timeout_s=5.0) as svc:
        pool = svc.pool("python")
        _kill_workers_while_rendering(pool, 1).join(0)
        assert render_one(svc, "python", sleepy).ok
        _kill_workers_while_rendering(pool, 2)
        result = render_one(svc, "python", sleepy)
        assert result.error_kind == "runtime" and "twice" in result.message
        assert_still_renders(svc, "python")
