"""Attacks by a sample that has read vinci's source, as root: each is refused, and the next sample
renders exactly as it renders alone (same PNG bytes)."""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time

import pytest

from filters.render import RenderService
from filters.render.jail import JailSpec
from filters.render.pool import WorkerGone, WorkerProcess
from filters.render.protocol import write_frame
from filters.render.sandbox import run_limited
from tests.conftest import render_one
from tests.filters.render.test_sandbox import NORMAL

needs_namespaces = pytest.mark.needs_bwrap  # skipped, naming bubblewrap, where it cannot create namespaces (tests/conftest.py)


@pytest.fixture(scope="module")
def alone():
    """Every language's normal sample rendered by a fresh pool: what 'unchanged' means."""
    with RenderService(workers=1, timeout_s=10.0) as svc:
        return {lang: render_one(svc, lang, code).png for lang, code in NORMAL.items()}


def renders_as_alone(service, alone, lang):
    result = render_one(service, lang, NORMAL[lang])
    assert result.ok, f"{lang}: {result.message}"
    assert result.png == alone[lang], f"{lang} render changed after the attack"


def report(service, code: str) -> str:
    """Run a probing Python sample that raises its findings; return them."""
    result = render_one(service, "python", code)
    assert result.error_kind == "runtime", result.message
    return result.message


# 1. Privilege ------------------------------------------------------------------------------------

STATUS = """
fields = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)
raise RuntimeError('|'.join(k + '=' + ' '.join(fields[k].split()) for k in
                   ('Uid', 'CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp')))
"""


@pytest.mark.renders
@needs_namespaces
def test_a_sample_holds_no_privilege(service, alone):
    found = dict(part.split("=", 1) for part in report(service, STATUS).split(": ", 1)[1].split("|"))
    assert found["Uid"].split()[0] != "0"
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(found[cap], 16) == 0, found
    assert found["NoNewPrivs"] == "1" and found["Seccomp"] == "2"
    renders_as_alone(service, alone, "python")


MOUNTS = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
out = []
def attempt(name, rc):
    out.append(f"{name}:{'ok' if rc == 0 else os.strerror(ctypes.get_errno())}")
for target in (b'/usr', b'/', b'PKG', b'/proc', b'/tmp'):
    attempt('remount ' + target.decode(), libc.mount(None, target, None, 32 | 4096, None))
    attempt('tmpfs ' + target.decode(), libc.mount(b'tmpfs', target, b'tmpfs', 0, None))
attempt('proc', libc.mount(b'proc', b'/tmp', b'proc', 0, None))
attempt('unshare-user', libc.unshare(0x10000000))
attempt('unshare-mnt', libc.unshare(0x00020000))
attempt('setns', libc.setns(0, 0))
attempt('ptrace', libc.ptrace(16, 1, 0, 0))
attempt('keyctl', libc.syscall(250, 0, 0, 0, 0))
attempt('bpf', libc.syscall(321, 0, 0, 0))
attempt('perf', libc.syscall(298, 0, 0, 0, 0, 0))
attempt('chroot', libc.chroot(b'/tmp'))
for path in ('/usr/lib/evil', 'PKG/filters/evil.py', '/evil'):
    try:
        open(path, 'w').write('x'); out.append(path + ':ok')
    except OSError as exc:
        out.append(path + ':' + exc.strerror)
raise RuntimeError(';'.join(out))
"""


@pytest.mark.renders
@needs_namespaces
def test_nothing_can_be_mounted_unshared_traced_or_written_outside_scratch(service, alone):
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    findings = report(service, MOUNTS.replace("PKG", package_root)).split(": ", 1)[1].split(";")
    succeeded = [f for f in findings if f.endswith(":ok")]
    assert succeeded == [], succeeded
    assert len(findings) == 22
    renders_as_alone(service, alone, "python")


# 2. The worker is out of reach ---------------------------------------------------------------------

REACH = r"""
import os, signal
hits = []
me = os.readlink('/proc/self')
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    if pid == me:
        continue
    for sub in ('mem', 'environ'):
        try:
            with open(f'/proc/{pid}/{sub}', 'rb') as fh:
                fh.read(1)
            hits.append(f'{pid}/{sub}')
        except OSError:
            pass
    try:
        for fd in os.listdir(f'/proc/{pid}/fd'):
            try:
                w = os.open(f'/proc/{pid}/fd/{fd}', os.O_WRONLY)
                os.write(w, b'\x10\x00\x00\x00\x00\x00\x00\x00{"ok": true, "x":0}')
                hits.append(f'{pid}/fd/{fd}')
            except OSError:
                pass
    except OSError:
        pass
for target in (os.getppid(), -1):
    try:
        os.kill(target, signal.SIGSTOP)
    except OSError:
        pass
raise RuntimeError('hits=' + ','.join(hits))
"""


@pytest.mark.renders
@needs_namespaces
def test_worker_memory_descriptors_and_signals_are_out_of_reach(service, alone):
    pool = service.pool("python")
    before = {w.proc.pid for w in pool._all}
    assert report(service, REACH).endswith("hits=")
    renders_as_alone(service, alone, "python")
    assert {w.proc.pid for w in pool._all} == before, "the worker was disturbed and replaced"


def test_a_reply_to_another_request_is_rejected(tmp_path):
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    worker = WorkerProcess.__new__(WorkerProcess)
    worker.in_fd, worker.out_fd, worker.seq, worker.lang = to_worker_w, from_worker_r, 0, "python"
    worker.cage = worker.proc = None
    write_frame(from_worker_w, {"ok": True, "width": 1, "height": 1, "seq": 7}, b"forged")
    with pytest.raises(WorkerGone, match="reply to request 7"):
        worker.request("x = 1", 1.0)
    for fd in (to_worker_r, to_worker_w, from_worker_r, from_worker_w):
        os.close(fd)


# 3. Nothing survives a sample ------------------------------------------------------------------------

PLANT = r"""
import os, sys, ctypes
home = os.environ['HOME']
for folder in ('/tmp', home, os.getcwd(), '/dev/shm', '/dev'):
    try:
        open(os.path.join(folder, 'colorsys.py'), 'w').write('raise SystemExit("planted")')
    except OSError:
        pass
os.makedirs(os.path.join(home, '.config', 'matplotlib'), exist_ok=True)
open(os.path.join(home, '.config', 'matplotlib', 'matplotlibrc'), 'w').write('axes.facecolor: red\n')
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x5EED, 4096, 0o1666)
if os.fork() == 0:
    os.setsid()
    libc.prctl(15, b'vinci-daemon', 0, 0, 0)
    import time
    time.sleep(120)
    os._exit(0)
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [2, 3, 1])
"""

CHECK = r"""
import os, sys, ctypes, colorsys
left = [p for p in ('/tmp/colorsys.py', os.path.join(os.environ['HOME'], 'colorsys.py'), '/dev/shm/colorsys.py',
                    '/dev/colorsys.py', os.path.join(os.environ['HOME'], '.config/matplotlib/matplotlibrc'))
        if os.path.exists(p)]
if not colorsys.__file__.startswith(sys.base_prefix) and 'python3' not in colorsys.__file__:
    left.append('colorsys from ' + colorsys.__file__)
writable = [p for p in sys.path if p and p != os.getcwd() and os.path.isdir(p) and os.access(p, os.W_OK)]
left += ['writable on sys.path: ' + p for p in writable]
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0x5EED, 0, 0) != -1:
    left.append('shm segment')
daemons = []
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    try:
        if open(f'/proc/{pid}/comm').read().strip() == 'vinci-daemon':
            daemons.append(pid)
    except OSError:
        pass
left += ['daemon ' + p for p in daemons]
raise RuntimeError('left=' + ';'.join(left))
"""


def host_processes_named(name: str) -> list[str]:
    found = []
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() == name:
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.renders
@needs_namespaces
def test_planted_modules_files_shm_and_daemons_do_not_reach_the_next_sample(service, alone):
    assert render_one(service, "python", PLANT).ok
    time.sleep(0.2)
    assert host_processes_named("vinci-daemon") == []
    assert report(service, CHECK).endswith("left=")
    renders_as_alone(service, alone, "python")


@pytest.mark.renders
def test_scratch_is_bounded_and_freed_with_the_sample(service, alone):
    fill = ("import os\nfor i in range(40):\n    with open(f'/tmp/fill{i}', 'wb') as fh:\n"
            "        fh.write(b'0' * (60 << 20))\n")
    result = render_one(service, "python", fill)
    assert not result.ok and result.error_kind in ("forbidden", "runtime"), result.message
    renders_as_alone(service, alone, "python")
    assert render_one(service, "python", fill.replace("range(40)", "range(3)") + "import matplotlib.pyplot as plt\nplt.plot([1, 0])\n").ok


@pytest.mark.renders
def test_sample_text_is_shown_escaped_never_as_log_lines(service):
    result = render_one(service, "python", "raise RuntimeError('\\x1b[2J\\rINFO vinci.build: all rows kept')\n")
    assert "\x1b" not in result.message and "\r" not in result.message
    assert "\\x1b" in result.message and "\\r" in result.message


# 4. HTML ---------------------------------------------------------------------------------------------

LEAKY_PAGE = """<html><body><h1>leaky</h1><script>
localStorage.setItem('k', 'v'); sessionStorage.setItem('k', 'v'); document.cookie = 'k=v; max-age=9999';
window.name = 'leaked-name';
indexedDB.open('vinci-db', 1).onupgradeneeded = e => e.target.result.createObjectStore('s');
const worm = "<script>setInterval(() => { try { if (opener.document.title !== 'A') {" +
  " opener.document.body.style.background = 'red'; opener.document.body.innerHTML = '<h1>OWNED</h1>'; } } catch (e) {} }, 2)<\\/script>";
document.title = 'A';
setInterval(() => { const w = window.open(''); if (w) { w.document.write(worm); } }, 5);
</script></body></html>"""

LOOKING_PAGE = """<html><body><h1 id=h>clean</h1><script>
const found = [localStorage.getItem('k'), sessionStorage.getItem('k'), document.cookie, window.name,
               history.length > 1 ? 'history ' + history.length : ''].filter(Boolean);
if (found.length) { document.body.style.background = 'red'; document.getElementById('h').textContent = 'LEAK ' + found; }
</script></body></html>"""


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_html_pages_start_from_clean_state():
    with RenderService(workers=1, timeout_s=5.0) as svc:
        first = render_one(svc, "html", LOOKING_PAGE)
        assert first.ok
        for _ in range(3):
            assert render_one(svc, "html", LEAKY_PAGE).ok
            time.sleep(0.2)
            after = render_one(svc, "html", LOOKING_PAGE)
            assert after.ok and after.png == first.png


@pytest.mark.renders
@pytest.mark.needs_chromium
@needs_namespaces
def test_html_page_that_allocates_gigabytes_fails_as_memory_and_the_pool_goes_on(service, alone):
    hog = ("<html><body><script>const keep = []; for (let i = 0; i < 64; i++) { const b = new ArrayBuffer(128 << 20);"
           " new Uint8Array(b).fill(1); keep.push(b); }</script><p>done</p></body></html>")
    with RenderService(workers=1, timeout_s=30.0) as svc:
        if not svc.pool("html")._all[0].cage.memory_limited:
            pytest.skip("no writable memory cgroup here")
        result = render_one(svc, "html", hog)
        assert result.error_kind == "memory", result.message
        renders_as_alone(svc, alone, "html")


# 5. LaTeX --------------------------------------------------------------------------------------------

def doc(preamble_extra: str, body: str) -> str:
    return ("\\documentclass{standalone}\n\\usepackage{tikz}\n" + preamble_extra +
            "\n\\begin{document}\n" + body + "\n\\end{document}\n")


@pytest.mark.renders
@pytest.mark.needs_tex
def test_latex_samples_cannot_touch_formats_or_other_samples(service, alone):
    attack = (r"\newwrite\w \immediate\openout\w=/tmp/evil.tex \immediate\write\w{x}\immediate\closeout\w"
              r"\immediate\openout\w=vinci.fmt \immediate\write\w{garbage}\immediate\closeout\w")
    for _ in range(3):  # the third time the preamble has a format of its own, dumped from the attacker's text
        render_one(service, "latex", doc(attack, r"\tikz\draw (0,0) -- (1,1);"))
    renders_as_alone(service, alone, "latex")
    assert render_one(service, "latex", doc("", r"\tikz\draw (0,0) circle (1);")).ok


@needs_namespaces
def test_helper_jail_keeps_only_its_folder_writable(tmp_path):
    work, shared = tmp_path / "work", tmp_path / "shared"
    work.mkdir()
    shared.mkdir()
    (shared / "vinci.fmt").write_text("format")
    script = f"echo x > {work}/ok; echo y > {shared}/vinci.fmt; echo z > {tmp_path}/new"
    done = run_limited(["/bin/sh", "-c", script], cwd=str(work), env={"PATH": "/usr/bin:/bin"}, timeout_s=10,
                       jail_spec=JailSpec(keep_writable=str(work), readonly=(str(shared),)))
    assert done.returncode != 0
    assert (work / "ok").read_text() == "x\n"
    assert (shared / "vinci.fmt").read_text() == "format"
    assert not (tmp_path / "new").exists()


# The normal samples of the other languages after everything above --------------------------------

@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
@pytest.mark.parametrize("lang", ["svg", "smiles", "html", "latex"])
def test_other_languages_render_as_alone_after_the_attacks(service, alone, lang):
    renders_as_alone(service, alone, lang)


# The same privilege checks when vinci runs as an ordinary user ----------------------------------

UNPRIVILEGED_PROBE = r"""
import ctypes, json, os, sys
from filters.render import jail
jail.make_non_dumpable()  # as the worker is
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    jail.enter_jail(jail.JailSpec(), fork_sample=True)
    libc = ctypes.CDLL(None, use_errno=True)
    tries = {"remount /usr": libc.mount(None, b"/usr", None, 32 | 4096 | 1, None),
             "tmpfs /usr": libc.mount(b"tmpfs", b"/usr", b"tmpfs", 0, None),
             "unshare": libc.unshare(0x10000000)}
    procs = sorted(p for p in os.listdir("/proc") if p.isdigit())
    os.write(w, json.dumps({"creds": jail.credentials(), "tries": tries, "procs": procs}).encode())
    os._exit(0)
os.close(w)
os.waitpid(pid, 0)
print(os.read(r, 65536).decode())
"""


@pytest.fixture
def world_readable_package():
    """A copy of ``core`` and ``filters`` that an ordinary user can read (the checkout may sit under /root)."""
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="vinci-pkg-")
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    for package in ("core", "filters"):
        shutil.copytree(os.path.join(here, package), os.path.join(root, package), ignore=shutil.ignore_patterns("__pycache__"))
    import pyseccomp  # the seccomp filter's one dependency: a single module over Debian's libseccomp2

    shutil.copy(pyseccomp.__file__, root)
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    yield root
    shutil.rmtree(root)


@needs_namespaces
def test_privilege_checks_hold_for_an_ordinary_user_too(world_readable_package):
    import json
    import shutil

    from filters.render.sandbox import bwrap_prefix

    root = world_readable_package
    drop = [] if os.getuid() != 0 else ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    if drop and not shutil.which("setpriv"):
        pytest.skip("setpriv is needed to drop to an ordinary user")
    cmd = [*drop, *bwrap_prefix(shutil.which("bwrap"), [root], cover_proc=False),
           "--setenv", "PYTHONPATH", root, "/usr/bin/python3", "-c", UNPRIVILEGED_PROBE]
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("no system python3 that an ordinary user can run")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["creds"]["Uid"].split()[0] != "0"
    assert int(found["creds"]["CapEff"], 16) == 0 and int(found["creds"]["CapBnd"], 16) == 0
    assert found["creds"]["Seccomp"] == "2" and found["creds"]["NoNewPrivs"] == "1"
    assert all(rc != 0 for rc in found["tries"].values()), found["tries"]
    assert found["procs"] == ["1"], "the sample sees more than its own PID namespace"


# Found by an attacker who read the above: each closed, each a test ----------------------------------

HOST_KNOBS = r"""
import os
hits = []
for path in ('/proc/sys/vm/swappiness', '/proc/sys/kernel/core_pattern', '/proc/sysrq-trigger', '/proc/sys/kernel/pid_max'):
    try:
        open(path, 'a').close(); hits.append(path)
    except OSError:
        pass
me = os.readlink('/proc/self')
for pid in [p for p in os.listdir('/proc') if p.isdigit() and p != me]:
    for name in ('oom_score_adj', 'clear_refs', 'coredump_filter', 'autogroup'):
        try:
            open(f'/proc/{pid}/{name}', 'a').close(); hits.append(f'{pid}/{name}')
        except OSError:
            pass
raise RuntimeError('hits=' + ','.join(hits))
"""


@pytest.mark.renders
@needs_namespaces
def test_host_kernel_settings_and_the_workers_proc_files_are_read_only(service, alone):
    assert report(service, HOST_KNOBS).endswith("hits=")
    renders_as_alone(service, alone, "python")


FORGE = r"""
import json, os, struct, time
SPIN
header = json.dumps({"ok": KIND_OK, "kind": "bogus", "message": 7}).encode()
frame = struct.pack('<II', len(header), 3) + header + b'xyz'
for fd in [int(f) for f in os.listdir('/proc/self/fd')]:
    if fd > 2:
        try:
            os.write(fd, frame)
        except OSError:
            pass
os._exit(0)
"""


@pytest.mark.renders
def test_a_forged_reply_from_a_sample_costs_only_that_sample(service, alone):
    pool = service.pool("python")
    before = {w.proc.pid for w in pool._all}
    result = render_one(service, "python", FORGE.replace("SPIN", "").replace("KIND_OK", "False"))
    assert result.error_kind == "runtime"
    result = render_one(service, "python", FORGE.replace("SPIN", "").replace("KIND_OK", "True"))
    assert not result.ok  # b'xyz' is no picture
    assert {w.proc.pid for w in pool._all} == before, "a forged reply took the worker down"
    renders_as_alone(service, alone, "python")


@pytest.mark.renders
def test_cpu_time_is_measured_not_taken_from_the_sample():
    spin = "t = time.process_time()\nwhile time.process_time() - t < 1.6:\n    pass"
    with RenderService(workers=1, timeout_s=1.0) as svc:
        result = render_one(svc, "python", FORGE.replace("SPIN", spin).replace("KIND_OK", "True"))
        assert result.error_kind == "timeout", result.message


PADDED = r"""
import zlib, struct
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
raw = b''.join(b'\x00' + bytes([(x * 7) % 256, 0, 0] * 1) * 1 for x in range(0))
rows = b''.join(b'\x00' + bytes([x % 256 for x in range(48)]) for _ in range(16))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 16, 16, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'zzZz', b'P' * (1 << 20)) + chunk(b'IEND', b'')
       + b'<html><script>alert(1)</script>')
open('out.png', 'wb').write(png)
"""


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_a_padded_png_is_reencoded_to_its_pixels(service):
    from filters.render.base import is_bare_png

    result = render_one(service, "python", PADDED)
    assert result.ok, result.message
    assert is_bare_png(result.png) and len(result.png) < 4096 and b"<html>" not in result.png


@pytest.mark.renders
def test_the_decoder_limits_are_the_same_for_every_sample():
    probe = "from PIL import Image\nraise RuntimeError(f'limit={Image.MAX_IMAGE_PIXELS}')\n"
    with RenderService(workers=1, timeout_s=5.0) as svc:
        first = render_one(svc, "python", probe).message
        render_one(svc, "python", NORMAL["python"])
        assert render_one(svc, "python", probe).message == first


# A second attacker's round --------------------------------------------------------------------------

@pytest.mark.renders
@needs_namespaces
def test_per_user_kernel_quotas_of_the_host_uid_are_out_of_reach(service, alone):
    code = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "got = [libc.inotify_init1(0), libc.syscall(300, 0, 0), libc.syscall(240, b'/q', 0o100, 0o600, None)]\n"
            "raise RuntimeError('got=' + ','.join(str(g) for g in got))\n")
    assert report(service, code).endswith("got=-1,-1,-1")
    renders_as_alone(service, alone, "python")


@pytest.mark.renders
@needs_namespaces
def test_root_only_kernel_files_read_empty(service):
    code = ("out = []\nfor p in ('/proc/kpageflags', '/proc/slabinfo', '/proc/timer_list', '/proc/vmallocinfo'):\n"
            "    try:\n        out.append(p + ':' + str(len(open(p, 'rb').read(64))))\n"
            "    except OSError:\n        out.append(p + ':denied')\n"
            "raise RuntimeError(';'.join(out))\n")
    found = report(service, code).split(": ", 1)[1].split(";")
    assert all(entry.endswith((":0", ":denied")) for entry in found), found


@pytest.mark.renders
@pytest.mark.needs_tex
def test_a_document_renders_the_same_with_or_without_its_format(service):
    doc = ("\\documentclass{standalone}\n\\edef\\jn{\\jobname}\n\\begin{document}\n\\Huge job: \\texttt{\\jn}\n"
           "\\end{document}\n")
    renders = [render_one(service, "latex", doc) for _ in range(3)]  # plain, then format-built, then format
    assert all(r.ok for r in renders)
    assert renders[0].png == renders[1].png == renders[2].png


@pytest.mark.renders
def test_the_worker_decodes_only_png_and_later_samples_see_the_same_worker():
    attack = ("from PIL import Image\nim = Image.new('RGB', (64, 64), (255, 0, 0))\n"
              "im.save('out.png', format='TGA')\n")
    victim = ("import matplotlib.pyplot as plt\nfrom PIL import Image\nplt.figure(figsize=(4, 1))\nplt.axis('off')\n"
              "plt.text(0, 0.5, 'PIL formats known: %d' % len(Image.ID))\n")
    with RenderService(workers=1, timeout_s=10.0) as svc:
        before = render_one(svc, "python", victim)
        result = render_one(svc, "python", attack)
        assert result.error_kind == "runtime" and "PNG or JPEG" in result.message
        assert render_one(svc, "python", victim).png == before.png


# A third attacker's round: what crossed from one sample to the next ---------------------------------

RENICE_AUTOGROUP = r"""
with open('/proc/self/autogroup', 'w') as fh:
    fh.write('19')
raise RuntimeError('set ' + open('/proc/self/autogroup').read().strip())
"""
AUTOGROUP = "raise RuntimeError('group ' + open('/proc/self/autogroup').read().strip())\n"


@pytest.mark.renders
@needs_namespaces
def test_a_sample_that_renices_its_autogroup_does_not_slow_the_next(service, alone):
    assert report(service, RENICE_AUTOGROUP).endswith("nice 19")  # the sample's own group: allowed
    assert report(service, AUTOGROUP).endswith("nice 0")
    renders_as_alone(service, alone, "python")


ABSTRACT_SOCKET = r"""
import array, os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(b'\0vinci-left-behind')
# the socket in flight on itself: it outlives every descriptor until the kernel's collector runs
s.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [s.fileno()]))], 0, b'\0vinci-left-behind')
raise RuntimeError('net ' + str(os.stat('/proc/self/ns/net').st_ino))
"""
FIND_SOCKET = r"""
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(b'\0vinci-left-behind')
    found = 'reached'
except OSError:
    found = 'nothing'
raise RuntimeError(found + ' net ' + str(os.stat('/proc/self/ns/net').st_ino))
"""


@pytest.mark.renders
@needs_namespaces
def test_each_sample_has_a_network_namespace_of_its_own(service, alone):
    first = report(service, ABSTRACT_SOCKET).split("net ")[1]
    found, second = report(service, FIND_SOCKET).split(": ", 1)[1].split(" net ")
    assert found == "nothing"
    assert first != second, "two samples shared a network namespace"
    renders_as_alone(service, alone, "python")


MEMFD_HOARD = r"""
import os
held, chunk = 0, b'\1' * (8 << 20)
try:
    for i in range(80):  # 80 x 64 MiB = 5 GiB, each file under the file-size limit, none in the address space
        fd = os.memfd_create(f'hoard{i}')
        for _ in range(8):
            held += os.write(fd, chunk)
finally:
    print(held)
raise RuntimeError(f'held {held >> 20} MiB')
"""


@pytest.mark.renders
@needs_namespaces
def test_memfd_pages_outside_the_address_space_limit_are_refused(service, alone):
    result = render_one(service, "python", MEMFD_HOARD)
    assert not result.ok and "held" not in result.message, result.message
    assert "Operation not permitted" in result.message
    renders_as_alone(service, alone, "python")


FORKED_HOARD = r"""
import os
readers = []
for _ in range(4):  # each child has an address-space limit of its own
    r, w = os.pipe()
    if os.fork() == 0:
        block = bytearray(400 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        os.write(w, b'1')
        os.read(r, 1)  # hold it until the sample ends
        os._exit(0)
    os.close(w)  # a child killed before it wrote reads as nothing
    readers.append(r)
held = sum(len(os.read(r, 1)) for r in readers)
raise RuntimeError(f'held {held} x 400 MiB')
"""


@pytest.mark.renders
@needs_namespaces
def test_the_worker_memory_cgroup_counts_every_process_of_a_sample(monkeypatch, alone):
    from dataclasses import replace

    from filters.render.python import PythonRenderer

    smaller = replace(PythonRenderer.resources, memory_bytes=1 << 30)  # the same cage, smaller, to keep the test light
    monkeypatch.setattr(PythonRenderer, "resources", smaller)
    with RenderService(workers=1, timeout_s=30.0) as svc:
        if not svc.pool("python")._all[0].cage.memory_limited:
            pytest.skip("no writable memory cgroup here")
        result = render_one(svc, "python", FORKED_HOARD)
        assert "held 4 x" not in result.message, result.message
        renders_as_alone(svc, alone, "python")


READ_HOST_FILE = r"""\documentclass{standalone}
\begin{document}
\newread\hostfile
\openin\hostfile=NAME
\ifeof\hostfile absent\else\read\hostfile to\firstline read: \texttt{\detokenize\expandafter{\firstline}}\fi
\end{document}
"""


@pytest.mark.renders
@pytest.mark.needs_tex
@needs_namespaces
def test_tex_reads_no_host_file_through_a_kpathsea_variable(service, alone):
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    nothing = render_one(service, "latex", READ_HOST_FILE.replace("NAME", "$SELFAUTOPARENT/no/such/file"))
    assert nothing.ok, nothing.message
    for name in ("$SELFAUTOPARENT/proc/version", "$SELFAUTOPARENT" + package + "/filters/__init__.py",
                 "$SELFAUTOPARENT/etc/fonts/fonts.conf", "$HOME/../../proc/self/mountinfo"):
        result = render_one(service, "latex", READ_HOST_FILE.replace("NAME", name))
        assert result.ok and result.png == nothing.png, f"{name} was read"
    renders_as_alone(service, alone, "latex")


HISTORY_PUSHER = """<html><body><h1>pusher</h1><script>
let n = 0;
setInterval(() => history.pushState({}, '', '#t' + (n++)), 10);
for (const event of ['beforeunload', 'pagehide', 'unload']) {
  addEventListener(event, () => { for (let i = 0; i < 20; i++) history.pushState({}, '', '#' + event + i); });
}
</script></body></html>"""
HISTORY_LENGTH = """<html><body><h1 id=h>history</h1><script>
document.getElementById('h').textContent = 'history.length = ' + history.length;
</script></body></html>"""


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_an_html_page_pushing_history_late_leaves_nothing_for_the_next(alone):
    with RenderService(workers=1, timeout_s=5.0) as svc:
        first = render_one(svc, "html", HISTORY_LENGTH)
        assert first.ok
        for _ in range(3):
            assert render_one(svc, "html", HISTORY_PUSHER).ok
            after = render_one(svc, "html", HISTORY_LENGTH)
            assert after.ok and after.png == first.png
        renders_as_alone(svc, alone, "html")


FORK_MANY = "import os\nfor _ in range(30):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"
PROC_VIEW = ("import os\nraise RuntimeError('self=' + os.readlink('/proc/self') + ' pids=' + "
             "','.join(sorted(p for p in os.listdir('/proc') if p.isdigit())))\n")


@pytest.mark.renders
@needs_namespaces
def test_a_sample_sees_only_its_own_processes_in_proc(service, alone):
    before = report(service, PROC_VIEW)
    render_one(service, "python", FORK_MANY)
    assert report(service, PROC_VIEW) == before
    assert before.endswith("self=1 pids=1"), before
    renders_as_alone(service, alone, "python")


ROOT_ONLY = r"""
reads = []
for path in ('/proc/sys/kernel/usermodehelper/bset', '/proc/sys/kernel/cad_pid', '/proc/sys/net/core/bpf_jit_harden'):
    try:
        open(path).read()
        reads.append(path)
    except OSError:
        pass
raise RuntimeError('reads=' + ','.join(reads))
"""


def host_uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(next(line for line in fh if line.startswith("Uid:")).split()[1])


@pytest.mark.renders
@pytest.mark.needs_tex
@needs_namespaces
def test_workers_and_samples_run_as_an_unprivileged_host_uid(service, alone):
    for lang in ("python", "latex", "svg"):
        worker = service.pool(lang)._all[0]
        for pid in worker.cage.pids() or [worker.proc.pid]:
            assert host_uid_of(pid) != 0, f"{lang} worker process {pid} runs as host root"
    assert report(service, ROOT_ONLY).endswith("reads="), "root-only kernel files were readable"
    renders_as_alone(service, alone, "python")


# A fresh reviewer's round: what the worker relays, and what the host trusts ---------------------------

# A sample writes its own reply on its pipe: a header that fits a frame (1 MiB) from the sample, but not
# once the worker adds its fields (a message), or once JSON escapes it again (a trace of raw emoji).
REPLY_AT_THE_LIMIT = r"""
import json, os, struct, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
rows = b''.join(b'\x00' + bytes([x % 256 for x in range(48)]) for _ in range(16))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 16, 16, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
header = HEADER
header = json.dumps(header, ensure_ascii=False).encode()
frame = struct.pack('<II', len(header), len(png)) + header + png
for fd in [int(f) for f in os.listdir('/proc/self/fd') if int(f) > 2]:
    try:
        os.write(fd, frame)
    except OSError:
        pass
os._exit(0)
"""
LONG_MESSAGE = '{"ok": False, "kind": "runtime", "message": "m" * ((1 << 20) - 60)}'
ESCAPED_TRACE = '{"ok": True, "trace": "\\U0001F600" * 200000}'  # 4 bytes as the sample writes it, 12 relayed


@pytest.mark.parametrize("header", [LONG_MESSAGE, ESCAPED_TRACE], ids=["long-message", "escaped-trace"])
def test_a_reply_that_grows_when_relayed_costs_only_that_sample(service, alone, header):
    """Before: the pool refused the worker's frame as oversized, replaced the worker, retried the sample
    on a fresh one, and reported 'the render worker died on this sample, twice' (two restarts, ~25 s)."""
    pool = service.pool("python")
    before = {w.proc.pid for w in pool._all}
    result = service.render_many([("python", REPLY_AT_THE_LIMIT.replace("HEADER", header))], trace="chartmimic")[0]
    assert result.error_kind == "runtime" and "died" not in result.message, result.message
    assert {w.proc.pid for w in pool._all} == before, "the sample's reply took the worker down"
    renders_as_alone(service, alone, "python")


SMUGGLED = r"""
import struct, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
rows = b''.join(b'\x00' + bytes([x % 256 for x in range(48)]) for _ in range(16))
junk = b'<html><script>alert(1)</script>' * 100000
stream = STREAM
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 16, 16, 8, 2, 0, 0, 0))
       + b''.join(chunk(b'IDAT', part) for part in stream) + chunk(b'IEND', b''))
open('out.png', 'wb').write(png)
"""


@pytest.mark.parametrize("stream", ["[zlib.compress(rows), junk]", "[zlib.compress(rows + junk, 0)]"],
                         ids=["after-the-stream", "inside-the-stream"])
def test_bytes_smuggled_in_idat_are_not_kept_as_the_picture(service, alone, stream):
    """Before: a 16 x 16 picture whose IDAT chunks carried 3 MB more (after its zlib stream, or inside it
    past the last row) passed as a bare PNG and was kept byte for byte, script and all."""
    result = render_one(service, "python", SMUGGLED.replace("STREAM", stream))
    assert result.ok, result.message
    assert len(result.png) < 4096 and b"<html>" not in result.png
    renders_as_alone(service, alone, "python")


def bomb_png(width: int, height: int) -> bytes:
    """A 1-bit PNG header for ``width`` x ``height`` pixels and a few rows: what a host decoder allocates
    for is the header's size."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width,height,says", [(12_000, 12_000, (16, 16)), (16, 16, (17, 16)), (0, 0, (16, 16))],
                         ids=["bomb", "wrong-size", "not-a-png"])
def test_a_worker_reply_is_checked_before_the_host_decodes_it(width, height, says):
    """A worker taken over through its parser (SVG, SMILES, Chromium) answers 'ok, 16 x 16' with a PNG
    whose header asks the host's decoder for 144 M pixels (432 MB as RGB). Before: the pool passed it
    on as a good render; now the sample fails and nothing on the host decodes it."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    worker = WorkerProcess.__new__(WorkerProcess)
    worker.in_fd, worker.out_fd, worker.seq, worker.lang = to_worker_w, from_worker_r, 0, "svg"
    worker.cage = worker.proc = None
    png = bomb_png(width, height) if width else b"GIF89a" + b"\x00" * 64
    write_frame(from_worker_w, {"ok": True, "width": says[0], "height": says[1], "seq": 1}, png)
    result = worker.request("<svg/>", 1.0)
    assert not result.ok and result.error_kind == "runtime", result
    assert "the worker sent a picture" in result.message
    for fd in (to_worker_r, to_worker_w, from_worker_r, from_worker_w):
        os.close(fd)


# Every forked sample is a copy of the worker's memory. A sample with private code and a private file
# beside it (a ``dir:`` tree), then an attacker's sample that searches its own memory for them.
PRIVATE_CODE = ("import matplotlib.pyplot as plt\n" + "#" * 60_000 + "\n# PRIVATE-CODE-OF-SAMPLE-A\n"
                "plt.plot([1, 2, 3], [2, 3, 1])\n")
PRIVATE_FILES = {"helper.py": "#" * 40_000 + "\nTOKEN = 'PRIVATE-FILE-A'\n"}
SEARCH_MEMORY = r"""
needles = [b"-".join([b"PRIVATE", s]) for s in (b"CODE-OF-SAMPLE-A", b"FILE-A")]  # built here, so found once
counts = [0, 0]
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if not fields[1].startswith("r") or hi - lo > 1 << 30:
            continue
        try:
            mem.seek(lo)
            chunk = mem.read(hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        for i, needle in enumerate(needles):
            counts[i] += chunk.count(needle)
raise RuntimeError("found=" + ",".join(map(str, counts)))
"""


def test_a_later_sample_finds_nothing_of_an_earlier_one_in_its_memory(service, alone):
    """Before: the code and the file of the private sample were in every later sample's memory (freed by
    the worker, never cleared), 2 and 3 copies; now only the searcher's own needles are."""
    assert report(service, SEARCH_MEMORY).endswith("found=1,1")
    assert service.render_many([("python", PRIVATE_CODE, PRIVATE_FILES)])[0].ok
    assert report(service, SEARCH_MEMORY).endswith("found=1,1")
    renders_as_alone(service, alone, "python")


RENICE_UID = ("import os\nfor which in (os.PRIO_USER, os.PRIO_PGRP):\n    try:\n        os.setpriority(which, 0, 19)\n"
              "    except OSError:\n        pass\n")
NICE = "import os\nraise RuntimeError('nice=%d' % os.getpriority(os.PRIO_PROCESS, 0))\n"


def nice_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[16])


def test_renicing_the_whole_sandbox_uid_reaches_no_other_process(service, alone):
    """Contained already: ``setpriority(PRIO_USER)`` acts only on processes of the caller's PID namespace."""
    before = report(service, NICE)
    render_one(service, "python", RENICE_UID)
    assert report(service, NICE) == before
    for lang in ("python", "svg"):
        for pid in service.pool(lang)._all[0].cage.pids():
            assert nice_of(pid) == 0, f"{lang} worker process {pid} was reniced"
    renders_as_alone(service, alone, "python")


def test_a_sample_too_large_to_send_costs_only_that_sample(service, alone):
    """A helper module beside a script (a ``dir:`` tree allows 2 MiB a file) whose text is over the 1 MiB a
    request frame carries. Before: the worker read the frame's size, refused it and exited; the pool
    replaced it, retried the sample on a fresh one, which did the same: two restarts, 'died twice'."""
    pool = service.pool("python")
    before = {w.proc.pid for w in pool._all}
    code = "import matplotlib.pyplot as plt\nfrom data import X\nplt.plot(X)\n"
    result = service.render_many([("python", code, {"data.py": "X = [1, 2]\n# " + "é" * 200_000 + "\n"})])[0]
    assert result.error_kind == "forbidden" and "too large to send" in result.message, result.message
    assert {w.proc.pid for w in pool._all} == before, "the request took the worker down"
    renders_as_alone(service, alone, "python")


def test_a_sample_with_a_huge_error_message_is_reported_with_its_start(service):
    """Before: the sample's own reply was over a frame, so it read 'exited with status 0 before replying'."""
    result = render_one(service, "python", "raise ValueError('\\x01' * 3_000_000)\n")
    assert result.error_kind == "runtime" and result.first_line().startswith("ValueError: \\x01"), result.message


# One fork a sample ------------------------------------------------------------------------------

BORN = """
import os
raise RuntimeError(f"pid={os.getpid()}|ppid={os.getppid()}|procs={sorted(p for p in os.listdir('/proc') if p.isdigit())}|"
                   f"map={' '.join(open('/proc/self/uid_map').read().split())}|sid={os.getsid(0)}")
"""


@pytest.mark.renders
@needs_namespaces
def test_a_sample_is_forked_straight_into_its_namespaces(service, alone):
    """One fork of the worker a sample (``jail.fork_into_namespaces``): the sample is PID 1 of a namespace
    that holds nothing else, its parent (the worker) is outside it, its uid maps to the worker's and nothing
    else, it leads its own session -- what the middle process of the two-fork way gave, without it."""
    pool = service.pool("python")
    assert pool._all[0].ready["confinement"].startswith("forked straight into"), pool._all[0].ready["confinement"]
    found = dict(part.split("=", 1) for part in report(service, BORN).split(": ", 1)[1].split("|"))
    assert found["pid"] == "1" and found["ppid"] == "0" and found["procs"] == "['1']" and found["sid"] == "1", found
    assert found["map"] == "1000 1000 1", found
    renders_as_alone(service, alone, "python")


CLONE_WITH_A_THREAD = r"""
import os, threading, sys
from filters.render import jail
pid, ids = jail.fork_into_namespaces()
if pid == 0:
    os._exit(0 if os.getpid() == 1 else 3)
_, status = os.waitpid(pid, 0)
print("alone", os.waitstatus_to_exitcode(status), ids == (os.getuid(), os.getgid()))
stop = threading.Event()
threading.Thread(target=stop.wait).start()
try:
    jail.fork_into_namespaces()
    print("cloned with a thread")
except jail.JailUnavailable as exc:
    print("refused:", exc)
stop.set()
"""


@needs_namespaces
def test_a_worker_with_a_second_thread_does_not_clone():
    """A raw ``clone`` skips glibc's fork handlers, so it is only taken in a single-threaded process: with a
    second thread it is refused (the worker then forks twice, as before)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    out = subprocess.run([sys.executable, "-c", CLONE_WITH_A_THREAD], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}, check=True).stdout.splitlines()
    assert out[0] == "alone 0 True"
    assert out[1] == "refused: the worker has more than one thread"


TWO_FORKS_WHERE_CLONE_IS_REFUSED = r"""
from filters.render import jail, worker
jail.make_non_dumpable()  # as the worker is
def refuse():
    raise jail.JailUnavailable(1, "refused")
jail.fork_into_namespaces = refuse
w = worker.Worker("python", 0, 1)
w.jailed, creds = w.probe_jail()
print(w.jailed, w.cloning, creds.get("NoNewPrivs"), creds.get("CapEff"), w.confinement().split(" its own")[0])
"""


@needs_namespaces
def test_a_worker_that_cannot_clone_jails_its_samples_the_two_fork_way():
    """Where the kernel (or a thread) refuses the clone, the worker's probe falls back to unshare and a second fork:
    still jailed, no capability, ``no_new_privs`` -- never unjailed for want of the cheaper way."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    out = subprocess.run([sys.executable, "-c", TWO_FORKS_WHERE_CLONE_IS_REFUSED], capture_output=True, text=True,
                         timeout=60, env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}, check=True).stdout.strip()
    assert out == "True False 1 0000000000000000 in", out
