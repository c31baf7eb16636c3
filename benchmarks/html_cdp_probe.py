"""What Playwright costs an HTML page: vinci's renderer beside a bare CDP driver, CPU by process, same bytes?

Not a renderer: the probe drives Chromium (the same binary, Playwright's launch flags plus vinci's) over
``--remote-debugging-pipe`` from this process, serves each page by ``Fetch`` fulfil, resets the history and
captures as ``HtmlRenderer._shoot`` does, but has none of what a renderer needs besides (the context's
emulation, dialogs, popups, downloads, crash and hang handling). It measures how much of a page's CPU the
node driver and Playwright's bookkeeping take, and checks that the pictures are the same bytes. Both run
unsandboxed in this process's tree (``/proc`` times before/after), alternating ``--rounds`` times.

    python benchmarks/html_cdp_probe.py [--n 20] [--rounds 2]
"""
from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.html_load import KINDS  # noqa: E402
from core.languages import LANGUAGES  # noqa: E402
from filters.render import html  # noqa: E402
from sources.base import open_source  # noqa: E402

# What Playwright 1.5x adds to a Chromium launch (read from the browser's command line), beside vinci's LAUNCH_ARGS.
PLAYWRIGHT_ARGS = [
    "--disable-field-trial-config", "--disable-background-networking", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows", "--disable-back-forward-cache", "--disable-breakpad",
    "--disable-component-extensions-with-background-pages", "--disable-component-update", "--no-default-browser-check",
    "--disable-default-apps", "--disable-dev-shm-usage", "--disable-extensions", "--allow-pre-commit-input",
    "--disable-hang-monitor", "--disable-ipc-flooding-protection", "--disable-prompt-on-repost",
    "--disable-renderer-backgrounding", "--force-color-profile=srgb", "--metrics-recording-only", "--no-first-run",
    "--password-store=basic", "--use-mock-keychain", "--no-service-autorun", "--disable-search-engine-choice-screen",
    "--disable-infobars", "--disable-sync", "--headless", "--hide-scrollbars", "--mute-audio", "--no-startup-window",
    "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch",
    "--enable-features=CDPScreenshotNewSurface",
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4",
]


def by_kind(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process under ``root``, with its kind (``KINDS``)."""
    kids: dict[int, list[int]] = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                kids[int(open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()[1])].append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    seen, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo += kids[pid]
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            line = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        kind = next((k for k in ("renderer", "gpu-process", "utility") if f"--type={k}" in line), None)
        if kind is None:
            kind = ("python worker" if pid == root else "node driver" if "/node " in line or line.startswith("node ")
                    else "browser" if "chrom" in line.split(" ")[0] else "other")
        seen[pid] = (kind, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return seen


def measured(render, codes: list[str]) -> tuple[list[bytes], dict[str, float]]:
    before = by_kind(os.getpid())
    pictures = [render(code) for code in codes]
    kinds: collections.Counter[str] = collections.Counter()
    for pid, (kind, cpu) in by_kind(os.getpid()).items():
        kinds[kind] += cpu - before.get(pid, (kind, 0.0))[1]
    return pictures, {k: v / len(codes) * 1000 for k, v in kinds.items()}


class PipeDriver:
    """Chromium over its DevTools pipe (fd 3 in, fd 4 out, messages ended by NUL), one page."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="vinci-cdp-")
        to_browser, self.commands = os.pipe()
        self.replies, from_browser = os.pipe()
        def fds():
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)
        self.proc = subprocess.Popen([html.chromium_executable(), *PLAYWRIGHT_ARGS, *html.LAUNCH_ARGS,
                                      f"--user-data-dir={self.profile}", "--remote-debugging-pipe"],
                                     preexec_fn=fds, pass_fds=(3, 4), stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.buffer, self.last_id, self.events = b"", 0, collections.deque()
        self.document = ""
        context = self.call("Target.createBrowserContext", {"disposeOnDetach": True})["browserContextId"]
        self.frame = self.call("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": self.frame, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", {**html.VIEWPORT, "deviceScaleFactor": 1, "mobile": False},
                  session=True)
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": html.DETERMINISM_SCRIPT}, session=True)
        # what Playwright's context sets that can change a page's work or pixels
        self.call("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
                  session=True)
        self.call("Emulation.setFocusEmulationEnabled", {"enabled": True}, session=True)
        self.call("Emulation.setLocaleOverride", {"locale": "en-US"}, session=True)
        self.call("Emulation.setTimezoneOverride", {"timezoneId": "UTC"}, session=True)
        self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=True)

    def post(self, method: str, params: dict, session: bool) -> int:
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        return self.last_id

    def receive(self) -> dict:
        while b"\0" not in self.buffer:
            chunk = os.read(self.replies, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed its pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        sent = self.post(method, params or {}, session)
        while True:
            message = self.receive()
            if message.get("id") == sent:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.handle(message)

    def handle(self, message: dict) -> None:
        if message.get("method") != "Fetch.requestPaused":
            self.events.append(message)
            return
        paused = message["params"]
        if paused["request"]["url"] == self.origin:
            self.post("Fetch.fulfillRequest", {"requestId": paused["requestId"], "responseCode": 200, "responseHeaders": [
                {"name": "Content-Type", "value": "text/html; charset=utf-8"}],
                "body": base64.b64encode(self.document.encode()).decode()}, session=True)
        else:
            self.post("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": "BlockedByClient"}, session=True)

    def wait_for(self, method: str) -> None:
        while True:
            while self.events:
                if self.events.popleft().get("method") == method:
                    return
            self.handle(self.receive())

    def render(self, code: str) -> bytes:
        self.document, self.origin = code, html.origin_for(code)
        self.events.clear()
        self.call("Page.resetNavigationHistory", session=True)
        self.call("Page.navigate", {"url": self.origin}, session=True)
        self.wait_for("Page.loadEventFired")
        world = self.call("Page.createIsolatedWorld", {"frameId": self.frame, "worldName": "vinci-capture"}, session=True)
        size = self.call("Runtime.evaluate", {"expression": f"({html.PREPARE_FRAME})()", "awaitPromise": True,
                                              "returnByValue": True, "contextId": world["executionContextId"]},
                         session=True)["result"].get("value")
        clip = html.clip_for(size, html.VIEWPORT, True, html.HtmlRenderer.canvas.max_side)
        shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session=True)
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for fd in (self.commands, self.replies):
            os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    codes = [s.code for s in islice(open_source(LANGUAGES["html"].synthetic_source, seed=0), args.n + 3)]
    workdir = tempfile.mkdtemp(prefix="vinci-probe-")
    runs: dict[str, list[dict[str, float]]] = {"playwright": [], "bare CDP": []}
    pictures: dict[str, list[bytes]] = {}
    for _ in range(args.rounds):
        renderer = html.HtmlRenderer()
        renderer.setup()
        try:
            for code in codes[:3]:
                renderer.render(code, workdir, 10)
            pictures["playwright"], kinds = measured(lambda c: renderer.render(c, workdir, 10), codes[3:])
            runs["playwright"].append(kinds)
        finally:
            renderer.teardown()
        driver = PipeDriver()
        try:
            for code in codes[:3]:
                driver.render(code)
            pictures["bare CDP"], kinds = measured(driver.render, codes[3:])
            runs["bare CDP"].append(kinds)
        finally:
            driver.close()
    print(f"{args.n} generated pages, medians of {args.rounds} runs, CPU ms per page")
    print(f"{'driver':<11} {'all':>7} " + " ".join(f"{k[:11]:>11}" for k in KINDS))
    for name, got in runs.items():
        total = statistics.median(sum(r.values()) for r in got)
        print(f"{name:<11} {total:>7.1f} " + " ".join(f"{statistics.median(r.get(k, 0.0) for r in got):>11.1f}" for k in KINDS))
    same = sum(a == b for a, b in zip(pictures["playwright"], pictures["bare CDP"]))
    print(f"same bytes: {same} of {args.n} pages")


if __name__ == "__main__":
    main()
