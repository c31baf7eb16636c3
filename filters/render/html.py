"""HTML renderer: one warm headless Chromium per worker, driven by Playwright.

Each sample is a fresh navigation of one reused page to an origin of its own
(``http://p<sha256 of the code>.vinci.invalid/``), whose document the route handler serves from
memory: a new navigation resets ``window`` globals and timers (unlike ``set_content``) and costs
~100 ms instead of a new context's ~350 ms. What a navigation would keep cannot reach the next page:
storage is per origin, cookies are off, popups are blocked, history is cut (``_tidy``). The worker's cgroup caps the memory of the browser and its renderers together. Every other request is
aborted; inside the worker's network namespace nothing could be reached anyway, and the launch
flags send any socket Chromium opens on its own (WebSocket, prefetch, beacons) to a dead proxy.
JavaScript gets the sample's deadline; a page that does not finish loading in time is killed with
its renderer process and the browser is restarted if it does not recover.

Files a page names beside it (a placeholder picture, a stylesheet) are served to it, under its own
origin, from the files harvested with the sample (its scratch folder), never from the network or the
host. The viewport and the full-page policy are render conventions: Design2Code's screenshots, for
one, are Playwright's defaults (a 1280x720 viewport, ``full_page=True``).
"""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import shutil
import stat
import urllib.parse
from typing import Any

from .base import Canvas, Convention, RenderError, Renderer, Resources, resolve_conventions
from .sandbox import wall_deadline_s

VIEWPORT = {"width": 1024, "height": 768}
MAX_HEIGHT = 4096
ORIGIN_TEMPLATE = "http://p{digest}.vinci.invalid/"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
    "--no-first-run", "--mute-audio", "--hide-scrollbars", "--font-render-hinting=none",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=socks5://0.0.0.0:9", "--proxy-bypass-list=<-loopback>",
    "--js-flags=--max-old-space-size=512",
    # One raster path whatever the load: no partial or low-resolution tiles, no asynchronous image
    # decoding, every compositor stage run before a frame is drawn, one raster thread, fixed colours.
    "--disable-partial-raster", "--disable-low-res-tiling", "--disable-checker-imaging",
    "--run-all-compositor-stages-before-draw", "--disable-threaded-animation", "--disable-threaded-scrolling",
    "--num-raster-threads=1", "--disable-skia-runtime-opts", "--force-color-profile=srgb", "--disable-lcd-text",
]
DETERMINISM_SCRIPT = """
(() => {
  if (window === window.top) { window.name = ''; }
  const noCookies = { get: () => '', set: () => {}, configurable: false };
  Object.defineProperty(Document.prototype, 'cookie', noCookies);
  try { Object.defineProperty(window, 'cookieStore', { value: undefined, configurable: false }); } catch (e) {}
  let s = 42;
  Math.random = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const fixed = 1700000000000;
  const RealDate = Date;
  Date = class extends RealDate { constructor(...a) { super(...(a.length ? a : [fixed])); } static now() { return fixed; } };
})();
"""
PAGES_PER_CONTEXT = 200
BLANK_DOCUMENT = "<html></html>"
# Before the capture, in one evaluate per frame: what Playwright's screenshot(animations="disabled",
# caret="hide") does in four round trips (finite animations finished, infinite ones cancelled, carets
# transparent, in every shadow root; web fonts loaded), and the page's height. It runs in an isolated
# world (``_prepare``), out of reach of the page's scripts; the steps are guarded all the same, and the
# caller clamps the height.
PREPARE_FRAME = """async () => {
  try {
    const roots = [document];
    for (let i = 0; i < roots.length; i++) {
      const walker = document.createTreeWalker(roots[i], NodeFilter.SHOW_ELEMENT);
      for (let node = walker.currentNode; node; node = walker.nextNode()) {
        if (node instanceof Element && node.shadowRoot) roots.push(node.shadowRoot);
      }
    }
    for (const root of roots) {
      root.querySelectorAll('input,textarea,[contenteditable]').forEach(
        (el) => el.style.setProperty('caret-color', 'transparent', 'important'));
      for (const animation of root.getAnimations()) {
        if (!animation.effect || animation.playbackRate === 0) continue;
        try {
          if (Number.isFinite(animation.effect.getComputedTiming().endTime)) animation.finish(); else animation.cancel();
        } catch (e) {}
      }
    }
  } catch (e) {}
  try { await document.fonts.ready; } catch (e) {}
  try {
    const root = document.documentElement, body = document.body;
    return [Math.max(root.scrollWidth, body ? body.scrollWidth : 0), Math.max(root.scrollHeight, body ? body.scrollHeight : 0)];
  } catch (e) { return [0, 0]; }
}"""
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome", "chrome")


def frames_of(tree: dict) -> list[dict]:
    """Every frame of a CDP frame tree, the main frame first."""
    return [tree["frame"], *(frame for child in tree.get("childFrames", []) for frame in frames_of(child))]


def origin_for(code: str, files: dict[str, bytes] | None = None) -> str:
    """The page's own origin: the same for the same code and files (renders stay reproducible), another
    for other code or files (pages share no storage, and no cached picture of another page's files)."""
    digest = hashlib.sha256(code.encode())
    for name, data in sorted((files or {}).items()):
        digest.update(b"\x00" + name.encode() + b"\x00" + hashlib.sha256(data).digest())
    return ORIGIN_TEMPLATE.format(digest=digest.hexdigest()[:20])


def files_beside(workdir: str) -> dict[str, bytes]:
    """The regular files the worker wrote beside the page (the sample's harvested files), by relative path."""
    found: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(workdir, followlinks=False):
        for name in names:
            path = os.path.join(folder, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                with open(path, "rb") as fh:
                    found[os.path.relpath(path, workdir).replace(os.sep, "/")] = fh.read()
    return found


def clip_for(content: Any, viewport: dict[str, int], full_page: bool, max_side: int) -> dict:
    """The captured rectangle: the viewport, or with ``full_page`` the page's scroll size (as Playwright's
    ``full_page`` screenshot: never smaller than the viewport), bounded by ``MAX_HEIGHT`` and the canvas."""
    width, height = viewport["width"], viewport["height"]
    if full_page and isinstance(content, list) and len(content) == 2 and all(isinstance(v, (int, float)) for v in content):
        width = max(width, min(int(content[0]), max_side))
        height = max(height, min(int(content[1]), MAX_HEIGHT))
    return {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}


def chromium_executable() -> str | None:
    """Debian's Chromium where installed; ``None`` lets Playwright use its own browser if it has one.

    Debian's ``/usr/bin/chromium`` is a shell wrapper that sources ``/etc/chromium.d``; the binary
    behind it is preferred so the sandbox need not expose ``/etc``.
    """
    env = os.environ.get("VINCI_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class HtmlRenderer(Renderer):
    lang = "html"
    canvas = Canvas(
        f"a {VIEWPORT['width']}x{VIEWPORT['height']} CSS-px viewport at device scale 1, full page up to "
        f"{MAX_HEIGHT} px tall, white background; only inline, data: and the page's own files beside it load",
        prompt=f"It is rendered in a {VIEWPORT['width']} px wide browser viewport; only inline CSS, data: resources "
               "and files beside the page load.",
    )
    conventions = {
        "viewport_width": Convention(VIEWPORT["width"], "CSS px", bounds=(200, 4096)),
        "viewport_height": Convention(VIEWPORT["height"], "CSS px; the shortest picture", bounds=(200, 4096)),
        "full_page": Convention(True, "capture the whole page (up to MAX_HEIGHT), not only the viewport"),
        "files_beside": Convention(True, "serve the page the files harvested beside it (else they are blocked, "
                                         "as a screenshot taken without them shows)"),
    }
    mode = "own"
    resources = Resources(cpus=2.0, memory_bytes=3 << 30, tasks=1024)  # Chromium: renderer, GPU and browser processes
    keeps_processes = True

    @classmethod
    def canvas_prompt(cls, conventions: dict[str, Any] | None) -> str:
        settings = resolve_conventions(cls, conventions)
        shown = "" if settings["full_page"] else f", of which the first {settings['viewport_height']} px are shown"
        loads = "inline CSS, data: resources and files beside the page" if settings["files_beside"] else "inline CSS and data: resources"
        return f"It is rendered in a {settings['viewport_width']} px wide browser viewport{shown}; only {loads} load."

    def setup(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = None
        self._page = None
        self._document = ""
        self._files: dict[str, bytes] = {}
        self._launch()

    def _launch(self) -> None:
        self._close_browser()
        self._browser = self._pw.chromium.launch(executable_path=chromium_executable(), args=LAUNCH_ARGS,
                                                 ignore_default_args=["--disable-popup-blocking"],
                                                 headless=True, timeout=60_000)
        self._new_page()

    def _new_page(self) -> None:
        context = self._browser.new_context(viewport=VIEWPORT, device_scale_factor=1, java_script_enabled=True,
                                            service_workers="block", accept_downloads=False,
                                            reduced_motion="reduce", locale="en-US", timezone_id="UTC")
        context.add_init_script(DETERMINISM_SCRIPT)
        context.route("**/*", self._route)
        self._page = context.new_page()
        self._viewport = dict(VIEWPORT)
        self._cdp = context.new_cdp_session(self._page)
        self._pages_in_context = 0
        self._document, self._files, self._origin = BLANK_DOCUMENT, {}, origin_for("")
        self._page.goto(self._origin, wait_until="load")  # every sample's page then follows one other page

    def _tidy(self) -> None:
        """Between pages, without a round trip to a blank page: each page has an origin of its own
        (``origin_for``), so nothing it stored (local/session storage, IndexedDB, caches) is visible to
        another page, and it has no cookies (``DETERMINISM_SCRIPT``); Chromium's popup blocker is on,
        so no window outlives a page; the tab's history is cut to one entry, so ``history.length`` is
        the same for every page. A context is replaced after ``PAGES_PER_CONTEXT`` pages (what the
        origins stored stays bounded), or at once if a popup got through after all."""
        self._pages_in_context += 1
        if len(self._page.context.pages) > 1 or self._pages_in_context > PAGES_PER_CONTEXT:
            self._recover()
        self._cdp.send("Page.resetNavigationHistory")

    def _open(self, previous: str, timeout_ms: int) -> None:
        """Load the sample's page after the cut of ``_tidy``. The previous page was still there during the
        cut: if an entry made since the cut is not on this page's origin (the previous page pushed it
        from a timer or an unload handler, or navigated), the tab is emptied now that the previous page
        is gone -- a blank page of ours, the cut again -- and the page loaded once more, so no page sees
        what another left in the tab's history. The same code twice in a row always takes that path."""
        cut = self._cdp.send("Page.getNavigationHistory")["entries"][-1]["id"]
        if previous != self._origin:
            self._page.goto(self._origin, wait_until="load", timeout=timeout_ms)
            entries = self._cdp.send("Page.getNavigationHistory")["entries"]
            if all(entry["id"] <= cut or entry["url"].startswith(self._origin) for entry in entries):
                return
        document, files, origin = self._document, self._files, self._origin
        self._document, self._files, self._origin = BLANK_DOCUMENT, {}, origin_for("")
        self._page.goto(self._origin, wait_until="load", timeout=timeout_ms)
        self._cdp.send("Page.resetNavigationHistory")
        self._document, self._files, self._origin = document, files, origin
        self._page.goto(self._origin, wait_until="load", timeout=timeout_ms)

    def _route(self, route) -> None:
        request = route.request
        if request.url == self._origin and request.is_navigation_request():
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=self._document)
        elif request.url.startswith("data:"):
            route.continue_()
        elif request.url.startswith(self._origin) and self._beside(request.url) is not None:
            name = self._beside(request.url)
            route.fulfill(status=200, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                          body=self._files[name])
        else:
            route.abort("blockedbyclient")

    def _beside(self, url: str) -> str | None:
        """The name of the page's own file that a URL of its origin asks for, if it has one."""
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        return name if name in self._files else None

    def render(self, code: str, workdir: str, timeout_s: float, conventions: dict[str, Any] | None = None) -> bytes:
        """Screenshot one page. A browser-side error (a crashed renderer) is retried once on a fresh
        page, so that a hiccup of Chromium does not decide which rows a build keeps."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        settings = resolve_conventions(type(self), conventions)
        viewport = {"width": settings["viewport_width"], "height": settings["viewport_height"]}
        files = files_beside(workdir) if settings["files_beside"] else {}
        failure = ""
        for _ in range(2):
            try:
                return self._shoot(code, files, viewport, settings["full_page"], timeout_s)
            except PlaywrightTimeout:
                self._recover()
                raise RenderError("timeout", "the page did not finish loading and drawing within its "
                                             f"{wall_deadline_s(timeout_s):.0f} s wall-clock deadline") from None
            except PlaywrightError as exc:
                self._recover()
                failure = str(exc).splitlines()[0]
        kind = "memory" if "crash" in failure.lower() or "out of memory" in failure.lower() else "runtime"
        raise RenderError(kind, failure)

    def _shoot(self, code: str, files: dict[str, bytes], viewport: dict[str, int], full_page: bool, timeout_s: float) -> bytes:
        self._tidy()
        previous = self._origin
        self._document, self._files, self._origin = code, files, origin_for(code, files)
        timeout_ms = max(1000, int(wall_deadline_s(timeout_s) * 1000))
        page = self._page
        if viewport != self._viewport:
            page.set_viewport_size(viewport)
            self._viewport = dict(viewport)
        self._open(previous, timeout_ms)
        main, *subframes = frames_of(self._cdp.send("Page.getFrameTree")["frameTree"])
        for frame in subframes:
            if frame["url"] and not frame["url"].startswith("chrome-error:"):  # a blocked navigation left no document
                self._prepare(frame["id"])
        clip = clip_for(self._prepare(main["id"]), viewport, full_page, self.canvas.max_side)
        shot = self._cdp.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        return base64.b64decode(shot["data"])

    def _prepare(self, frame_id: str):
        """Run ``PREPARE_FRAME`` in a world of our own in that frame, as Playwright's utility world does:
        the page's scripts share its DOM but not its JavaScript, so nothing they replace reaches it."""
        try:
            world = self._cdp.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "vinci-capture"})
            done = self._cdp.send("Runtime.evaluate", {"expression": f"({PREPARE_FRAME})()", "awaitPromise": True,
                                                      "returnByValue": True, "contextId": world["executionContextId"]})
        except Exception:  # noqa: BLE001 - a frame that went away has nothing left to draw
            return None
        return done.get("result", {}).get("value")

    def _recover(self) -> None:
        """Throw away the page (and its busy renderer); relaunch the browser if that fails."""
        try:
            self._page.context.close()
            self._new_page()
        except Exception:  # noqa: BLE001 - any failure here means the browser is gone
            self._launch()

    def _close_browser(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:  # noqa: BLE001 - closing a dead browser may raise anything
                pass
        self._browser = None

    def teardown(self) -> None:
        self._close_browser()
        self._pw.stop()


RENDERER = HtmlRenderer
