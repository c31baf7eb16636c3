"""LaTeX renderer: TikZ/pgfplots pictures through pdflatex, rasterised in-process with pdfium
(or, under the ``rasteriser: poppler`` convention, by ``pdftoppm`` in the same jail as pdflatex).

Bare snippets (a ``tikzpicture``, ``\\tikz`` commands, ``\\usetikzlibrary`` lines, ``\\usepackage``
lines of preloaded packages) are compiled against a format precompiled at worker start with a
fixed superset preamble, which skips the ~0.3 s of loading TikZ and pgfplots per picture. Whole
documents compile the plain way the first time their preamble is seen; a preamble seen twice gets
a format of its own (``mylatexformat`` dumps exactly that preamble, so the output is unchanged),
which is what makes real corpora -- a few preambles shared by many pictures -- fast. pdflatex never gets
shell escape and may only open files in its scratch folder (``openin_any=p``, ``openout_any=p``);
it runs in the sample jail, where that scratch folder is the only writable place: the formats
(shared by every later sample) are read-only to it, and a sample's preamble is dumped into a
format in a folder of its own before the format is moved in beside the others.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import tempfile
from collections import Counter, OrderedDict
from typing import Any

from .base import Canvas, Convention, RenderError, Renderer, encode_checked, resolve_conventions
from .jail import JailSpec
from .sandbox import run_limited

DPI = 200
MAX_DOCUMENT_FORMATS = 16
MAX_FORMAT_BYTES = 96 << 20  # vinci's own format inflates to ~19.5 MB
TIKZ_LIBRARIES = (
    "arrows,arrows.meta,positioning,calc,shapes,shapes.geometric,shapes.arrows,shapes.multipart,automata,"
    "decorations.pathreplacing,decorations.pathmorphing,decorations.markings,patterns,backgrounds,fit,"
    "matrix,trees,mindmap,intersections,angles,quotes,through,chains,petri,3d,"
    "shapes.symbols,shapes.callouts,shapes.misc,decorations.text,decorations.shapes,decorations.footprints,"
    "decorations.fractals,spy,calendar,plotmarks,patterns.meta,shadings,math,graphs,bending,perspective,"
    "lindenmayersystems,svg.path,topaths"
)
# Libraries that create PDF objects when loaded (fadings are XObjects; shadows loads fadings): an
# object made while a format is dumped does not exist in the PDFs compiled from it, and pdflatex
# crashes at shipout. They are loaded in the document instead, where a snippet uses them.
LATE_LIBRARIES = {"fadings": re.compile(r"fading"), "shadows": re.compile(r"shadow|glow")}
PRELOADED_PACKAGES = frozenset({"tikz", "pgfplots", "xcolor", "amsmath", "amssymb", "amsfonts", "graphicx",
                                "pgf", "tikz-cd", "pgfplotstable", "standalone", "inputenc", "fontenc"})
DEFAULT_BORDER = "4pt"
PREAMBLE = (
    f"\\documentclass[border={DEFAULT_BORDER}]{{standalone}}\n"
    "\\usepackage[T1]{fontenc}\n\\usepackage{amsmath,amssymb,amsfonts,graphicx,xcolor}\n"
    "\\usepackage{tikz}\n\\usepackage{pgfplots}\n\\usepackage{pgfplotstable}\n\\usepackage{tikz-cd}\n"
    "\\pgfplotsset{compat=1.18}\n\\usepgfplotslibrary{groupplots,fillbetween,polar}\n"
    f"\\usetikzlibrary{{{TIKZ_LIBRARIES}}}\n"
)
# What pdflatex otherwise reads at every \begin{document} -- graphicx's MetaPost support (supp-pdf.mkii, 71 KB)
# and expl3's PDF backend (l3backend-pdftex.def, read three times) -- loaded once, into vinci's format: their
# hooks find them loaded and skip them. ~13 ms of a ~80 ms run; the PDFs are byte-identical.
FORMAT_PRELOADS = "\\makeatletter\\GPT@LoadSuppPdf\\makeatother\n\\ExplSyntaxOn\\sys_load_backend:n{}\\ExplSyntaxOff\n"
# The same for a document's own format, written so as to change no catcode its preamble left and to define
# nothing it lacks (a preamble without graphicx has no MetaPost support to load).
DOCUMENT_PRELOADS = ("\\ifcsname GPT@LoadSuppPdf\\endcsname\\csname GPT@LoadSuppPdf\\endcsname\\fi\n"
                     "\\ifcsname sys_load_backend:n\\endcsname\\csname sys_load_backend:n\\endcsname{}\\fi\n")
USEPACKAGE = re.compile(r"^\s*\\usepackage(?:\[[^\]]*\])?\{([^}]*)\}\s*(%.*)?$", re.M)
FORBIDDEN_LOG = re.compile(r"Not (?:reading from|writing to) |runsystem\(|I can't (?:find|write on) file `/")
MISSING_PACKAGE = re.compile(r"! LaTeX Error: File `([\w.-]+\.(?:sty|cls))' not found")
# All pdflatex is shown (``jail.bare_root``): its binaries and libraries, the TeX trees and fonts; the
# formats folder and its scratch folder are added per run.
TEX_VISIBLE = ("/usr/bin", "/usr/lib", "/usr/lib64", "/usr/share/texlive", "/usr/share/texmf", "/usr/share/fonts",
               "/usr/share/tex-common", "/etc/texmf", "/var/lib/texmf", "/etc/ld.so.cache")
# pdftoppm sees its binary and libraries, the fonts and fontconfig's settings, and its scratch folder.
POPPLER_VISIBLE = ("/usr/bin", "/usr/lib", "/usr/lib64", "/usr/share/fonts", "/usr/share/poppler", "/etc/fonts",
                   "/etc/ld.so.cache")
TEX_ENV = {
    "openin_any": "p", "openout_any": "p", "shell_escape": "f",
    "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1", "max_print_line": "1000",
}


def split_snippet(code: str) -> tuple[str, list[str]]:
    """Return the snippet's body and the packages it asks for with ``\\usepackage``."""
    packages: list[str] = []
    for match in USEPACKAGE.finditer(code):
        packages.extend(p.strip() for p in match.group(1).split(",") if p.strip())
    return USEPACKAGE.sub("", code), packages


def late_libraries(body: str) -> str:
    """``\\usetikzlibrary`` lines for the libraries a snippet uses that a format cannot hold."""
    wanted = [name for name, used in LATE_LIBRARIES.items() if used.search(body)]
    return "".join(f"\\usetikzlibrary{{{name}}}\n" for name in wanted)


def changes_catcodes(preamble: str) -> bool:
    """A preamble that may leave a character's catcode changed for the body (``\\makeatletter`` without its
    ``\\makeatother``, any ``\\catcode``, ``\\ExplSyntaxOn`` left on): a format dumped from it gives the body
    other catcodes than the plain compile does (``@`` an other character again), so it compiles the plain way."""
    return (preamble.count("\\makeatletter") > preamble.count("\\makeatother") or "\\catcode" in preamble
            or preamble.count("\\ExplSyntaxOn") > preamble.count("\\ExplSyntaxOff"))


def describe_exit(returncode: int, program: str = "pdflatex") -> str:
    if returncode < 0:
        try:
            return f"{program} was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"{program} was killed by signal {-returncode}"
    return f"{program} exited with status {returncode}"


def last_log_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip() and not line.startswith("=")]
    return lines[-1][:200] if lines else "(empty log)"


def classify_log(log: str, returncode: int = 1) -> tuple[str, str]:
    """Map a failed pdflatex log to an error kind and the first error line.

    Where the log has no ``!`` line (pdflatex crashed, or was killed), the message says how it
    ended and quotes the log's last line, so the cause can still be found.
    """
    forbidden = FORBIDDEN_LOG.search(log)
    if forbidden:
        line = log[forbidden.start():].splitlines()[0]
        return "forbidden", line
    missing = MISSING_PACKAGE.search(log)
    if missing:  # a package the TeX installation lacks, named as a Python module is (``filters/execution.py``)
        return "missing_module", f"LaTeX Error: File `{missing.group(1)}' not found"
    errors = [line for line in log.splitlines() if line.startswith("!")]
    first = errors[0] if errors else f"{describe_exit(returncode)} without an error line; the log ends: {last_log_line(log)}"
    if "TeX capacity exceeded" in log:
        return "memory", first
    syntax_markers = ("Missing", "ended by", "Runaway argument", "File ended", "Extra }", "Extra alignment",
                      "Too many }", "Emergency stop", "Paragraph ended", "Illegal parameter")
    structural = ("ended by", "Emergency stop", "File ended while scanning", "\\end occurred inside a group",
                  "Improper \\prevdepth", "Missing \\end")
    kind = "syntax" if any(m in first for m in syntax_markers) or any(m in log for m in structural) else "runtime"
    return kind, first


class LatexRenderer(Renderer):
    lang = "latex"
    canvas = Canvas(
        f"the standalone page (4 pt border) at {DPI} DPI, white background",
        prompt=f"It is compiled with pdflatex as a standalone picture (TikZ and pgfplots are available) at {DPI} DPI.",
    )
    conventions = {
        "border": Convention(DEFAULT_BORDER, "standalone's border around a snippet (a document keeps its own class options)",
                             pattern=r"\d{1,3}(\.\d{1,2})?(pt|bp|mm|cm|in)"),
        "crop": Convention(False, "crop the page to what is drawn on it (a document of another class than standalone, too)"),
        "long_side": Convention(0, "px of the picture's longer side (0: the page at DPI)", bounds=(0, 4096)),
        "square": Convention(False, "pad the picture to a white square of its longer side, centred"),
        "rasteriser": Convention("pdfium", "what draws the PDF at the DPI: pdfium in-process, or poppler's pdftoppm "
                                 "(as pdf2image, HELM's Image2Struct) in the jail", choices=("pdfium", "poppler")),
    }
    mode = "own"
    sample_in_jail = True

    @classmethod
    def canvas_prompt(cls, conventions: dict[str, Any] | None) -> str:
        settings = resolve_conventions(cls, conventions)
        if not (settings["crop"] or settings["long_side"] or settings["square"]):
            return cls.canvas.prompt
        framed = ("cropped to what it draws" if settings["crop"] else "its page") + (
            f", scaled to {settings['long_side']} px on its longer side" if settings["long_side"] else f" at {DPI} DPI") + (
            ", padded to a white square" if settings["square"] else "")
        return f"It is compiled with pdflatex (TikZ and pgfplots are available), {framed}."

    def setup(self) -> None:
        import pypdfium2  # noqa: F401 - warm import

        self._home = tempfile.mkdtemp(prefix="vinci-latex-formats-")
        self._scratch = tempfile.mkdtemp(prefix="vinci-latex-scratch-")
        self._env = {**os.environ, **TEX_ENV}
        self._format = self._build_format("vinci", PREAMBLE + FORMAT_PRELOADS, timeout_s=120)
        if self._format is None:
            raise RuntimeError("could not build the LaTeX format; is texlive-latex-extra installed?")
        self._seen: Counter[str] = Counter()
        self._formats: OrderedDict[str, str | None] = OrderedDict()

    def _build_format(self, name: str, preamble: str, timeout_s: float, untrusted: bool = False) -> str | None:
        """Dump a format for ``preamble`` into the formats folder.

        An untrusted preamble (a sample's) is dumped in a folder of its own inside the jail, where
        the formats folder is read-only, and only its ``.fmt`` is moved in afterwards.
        """
        build = tempfile.mkdtemp(prefix="fmt-", dir=self._scratch)
        try:
            # Dumped under the job name a sample compiles as (``main``), so a preamble that reads
            # ``\\jobname`` sees the same name with the format as without it.
            with open(os.path.join(build, "main.tex"), "w", encoding="utf-8") as fh:
                fh.write(preamble + "\\begin{document}\n\\end{document}\n")
            done = run_limited(["etex", "-ini", "-interaction=batchmode", "-jobname=main", "&pdflatex",
                                "mylatexformat.ltx", "main.tex"], cwd=build,
                               env={**self._env, "TEXMFOUTPUT": build}, timeout_s=timeout_s,
                               limits=self.resources.sample, jail_spec=self._jail(build) if untrusted else None)
            built = os.path.join(build, "main.fmt")
            if done.returncode != 0 or not os.path.exists(built):
                return None
            path = os.path.join(self._home, f"{name}.fmt")
            return path if store_uncompressed(built, path) else None
        finally:
            shutil.rmtree(build, ignore_errors=True)

    def _jail(self, writable: str) -> JailSpec | None:
        return JailSpec(keep_writable=writable, readonly=(self._home,), visible=TEX_VISIBLE) if self.jailed else None

    def _document_format(self, preamble: str, timeout_s: float) -> str | None:
        """A format for a preamble seen before; ``None`` the first time (or if it cannot be dumped)."""
        if any(name in preamble for name in LATE_LIBRARIES) or changes_catcodes(preamble):
            return None
        key = hashlib.sha1(preamble.encode()).hexdigest()[:16]
        if key in self._formats:
            self._formats.move_to_end(key)
            return self._formats[key]
        self._seen[key] += 1
        if self._seen[key] < 2:
            return None
        self._formats[key] = self._build_format(f"doc-{key}", preamble + DOCUMENT_PRELOADS, timeout_s, untrusted=True)
        if len(self._formats) > MAX_DOCUMENT_FORMATS:
            _, old = self._formats.popitem(last=False)
            if old:
                os.unlink(old)
        return self._formats[key]

    def render(self, code: str, workdir: str, timeout_s: float, conventions: dict[str, Any] | None = None) -> bytes:
        settings = resolve_conventions(type(self), conventions)
        border, crop, long_side, square = settings["border"], settings["crop"], settings["long_side"], settings["square"]
        if crop:
            code = without_page_numbers(code)
        if "\\documentclass" in code:
            preamble, marker, body = code.partition("\\begin{document}")
            # A document with files beside it compiles the plain way: a format dumped without them
            # could differ from the document read with them.
            alone = not os.listdir(workdir)
            fmt = self._document_format(preamble, timeout_s) if marker and alone else None
            source = marker + body if fmt else code
        else:
            body, packages = split_snippet(code)
            extra = [p for p in packages if p not in PRELOADED_PACKAGES]
            if extra:
                uses = "".join(f"\\usepackage{{{p}}}\n" for p in extra)
                source, fmt = PREAMBLE + uses + "\\begin{document}\n" + late_libraries(body) + body + "\n\\end{document}\n", None
            else:
                source, fmt = "\\begin{document}\n" + late_libraries(body) + body + "\n\\end{document}\n", self._format
            if border != DEFAULT_BORDER:  # another class option than the format's: compiled with the preamble in full
                preamble = PREAMBLE.replace(f"[border={DEFAULT_BORDER}]", f"[border={border}]", 1)
                source = preamble + source if fmt else source.replace(PREAMBLE, preamble, 1)
                fmt = None
        image = self._compile(source, fmt, workdir, timeout_s, settings["rasteriser"])
        if crop or long_side or square:
            image = reframe(image, crop, long_side, square)
        return encode_checked(image, self.canvas)  # pixels checked here: the worker does not decode the PNG again

    def _compile(self, source: str, fmt: str | None, workdir: str, timeout_s: float, rasteriser: str = "pdfium"):
        """The first page of the compiled document as an RGB picture (PIL)."""
        with open(os.path.join(workdir, "main.tex"), "w", encoding="utf-8") as fh:
            fh.write(source)
        cmd = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error"]
        if fmt:
            cmd.append(f"-fmt={fmt}")
        env = {**self._env, "TEXMFOUTPUT": workdir, "TMPDIR": workdir}
        done = run_limited(cmd + ["main.tex"], cwd=workdir, env=env, timeout_s=timeout_s,
                           limits=self.resources.sample, jail_spec=self._jail(workdir))
        if done.timed_out:
            raise RenderError("timeout", f"pdflatex used more than its {timeout_s:g} s of CPU time "
                                         "(or stopped answering)")
        log = _read(os.path.join(workdir, "main.log"))
        if FORBIDDEN_LOG.search(log):
            raise RenderError(*classify_log(log, done.returncode))
        pdf = os.path.join(workdir, "main.pdf")
        if done.returncode != 0 or not os.path.exists(pdf):
            raise RenderError(*classify_log(log, done.returncode))
        if rasteriser == "poppler":
            return self._rasterise_poppler(pdf, workdir, timeout_s)
        return self._rasterise(pdf)

    def _rasterise(self, pdf_path: str, draw: bool = True):
        """The first page drawn by pdfium at DPI, as an RGB picture (PIL); with ``draw=False`` only the page
        checks (one page at least, within the canvas limit at DPI)."""
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(pdf_path)
        try:
            if len(pdf) == 0:
                raise RenderError("blank", "the PDF has no pages")
            page = pdf[0]
            width, height = page.get_size()
            scale = DPI / 72
            if width * height * scale * scale > self.canvas.max_pixels or max(width, height) * scale > self.canvas.max_side:
                raise RenderError("forbidden", f"page of {width:.0f}x{height:.0f} pt exceeds the canvas limit at {DPI} DPI")
            if not draw:
                return None
            image = page.render(scale=scale, fill_color=(255, 255, 255, 255)).to_pil()
            return image if image.mode == "RGB" else image.convert("RGB")
        finally:
            pdf.close()

    def _rasterise_poppler(self, pdf_path: str, workdir: str, timeout_s: float):
        """The first page drawn by ``pdftoppm`` at DPI, as ``pdf2image`` draws it (HELM's Image2Struct).

        The PDF is untrusted, so pdftoppm runs as pdflatex does: the sample's limits, in the jail with
        nothing but its scratch folder writable and only its own files visible; without the jail it is
        refused, never run on the host. The page is checked against the canvas limit first, so it never
        draws an oversized page."""
        from PIL import Image

        if not self.jailed:
            raise RenderError("forbidden", "the poppler rasteriser runs only in the sample jail, which this machine lacks")
        self._rasterise(pdf_path, draw=False)
        cmd = ["pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", os.path.basename(pdf_path), "page"]
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "XDG_CACHE_HOME": workdir, "TMPDIR": workdir}
        done = run_limited(cmd, cwd=workdir, env=env, timeout_s=timeout_s, limits=self.resources.sample,
                           jail_spec=JailSpec(keep_writable=workdir, visible=POPPLER_VISIBLE))
        if done.timed_out:
            raise RenderError("timeout", f"pdftoppm used more than its {timeout_s:g} s of CPU time (or stopped answering)")
        drawn = os.path.join(workdir, "page.ppm")  # raw pixels: nothing to compress twice
        if done.returncode != 0 or not os.path.exists(drawn):
            raise RenderError("runtime", f"pdftoppm could not draw the PDF ({describe_exit(done.returncode, 'pdftoppm')})")
        try:
            with Image.open(drawn) as image:
                return image.convert("RGB")
        except (OSError, Image.DecompressionBombError) as exc:
            raise RenderError("runtime", f"pdftoppm wrote no readable picture ({exc})") from None

    def teardown(self) -> None:
        shutil.rmtree(self._home, ignore_errors=True)
        shutil.rmtree(self._scratch, ignore_errors=True)


def store_uncompressed(built: str, path: str, cap: int = MAX_FORMAT_BYTES) -> bool:
    """Move a dumped format into place without its gzip layer.

    pdftex dumps formats gzip-compressed and inflates them on every run; web2c reads a plain file
    through the same zlib call, so an inflated format loads the same state (the PDFs are byte-identical)
    for ~40% of the CPU of a simple TikZ picture (~0.14 → ~0.06 s a run, measured with ``time``). The
    file may come from a sample's jail, so it is inflated with a cap and refused over it."""
    import gzip
    import zlib

    staging = path + ".inflating"
    written = 0
    try:
        with gzip.open(built, "rb") as src, open(staging, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > cap:
                    raise ValueError("format over its size cap")
                dst.write(chunk)
        os.replace(staging, path)
        return True
    except (OSError, EOFError, ValueError, zlib.error):
        if os.path.exists(staging):
            os.unlink(staging)
        return False
    finally:
        os.unlink(built)


NO_PAGE_STYLE = "\\AtBeginDocument{\\thispagestyle{empty}\\pagestyle{empty}}"


def without_page_numbers(code: str) -> str:
    """A document whose page numbers would be cropped with its drawing: the line after its class gets an
    empty page style (as DaTikZ's builder does)."""
    found = re.search(r"\\documentclass(\[[^\]]*\])?\{[^}]*\}[^\n]*\n", code)
    return code[:found.end()] + NO_PAGE_STYLE + "\n" + code[found.end():] if found else code


def reframe(image, crop: bool, long_side: int, square: bool):
    """A page (an RGB picture) as a dataset framed it: cropped to its drawing, scaled to a longer side,
    padded to a square (DaTikZ: margins cropped, rasterised to 384 px, padded to 384 x 384 on white)."""
    from PIL import Image, ImageChops, ImageOps

    if crop:
        box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
        if box is None:
            raise RenderError("blank", "the page is empty")
        image = image.crop(box)
    if long_side:
        scale = long_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    if square:
        side = max(image.size)
        image = ImageOps.pad(image, (side, side), color="white")
    return image


def _read(path: str) -> str:
    try:
        with open(path, encoding="latin-1") as fh:
            return fh.read()
    except OSError:
        return ""


RENDERER = LatexRenderer
