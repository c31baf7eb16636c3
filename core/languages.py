"""The one registry of code languages: everything vinci knows about a language, in one entry.

Every per-language table elsewhere (renderer modules, file extensions, fence tags, the quality
check's code signature, generators, perturbations, prompt wording, CLI choices) is a view of
``LANGUAGES``. Adding a language is its three modules (renderer, generator, perturbations) and
one entry here; ``tests/core/test_languages.py`` checks that every entry is complete and that its
modules expose what the pipeline calls.

Modules are named, not imported: a worker serving SVG never imports Chromium's driver, and this
module stays at the bottom of the import graph.

Every pattern here runs on untrusted text (harvested code, model answers), so none may backtrack
more than linearly: no two adjacent quantifiers that can take the same characters (``^\\s*`` under
``re.M`` spans blank lines, so leading space is ``[^\\S\\n]*``), no nested quantifiers (a comment
ends at its first ``-->``), and a scan to a closing character stops at the next opener
(``[^<>]*>``). The tests of answers, replies and files hold them to that on adversarial input.
"""
from __future__ import annotations

import functools
import importlib
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from .bounded import parse_python
from .errors import Rejected
from .errors import VinciError

SMILES_TOKENS = re.compile(r"(?:\[[^\]]+\]|Br|Cl|[BCNOPSFI]|[bcnops]|\*|%\d\d|\d|[=#$:/\\.()+\-@~])+")
HTML_SIGN = re.compile(r"<\s*(html|body|div|p|h[1-6]|span|table|section|main|!doctype)\b", re.I)
SVG_SIGN = re.compile(r"<\s*svg\b", re.I)
LATEX_SIGN = re.compile(r"\\(begin\{tikzpicture\}|tikz\b|draw\b|begin\{axis\}|documentclass|node\b|path\b|fill\b|begin\{document\})")
PYTHON_SHAPE = re.compile(r"^[^\S\n]*(import |from \w+ import|def |plt\.)", re.M)


def _python_sign(code: str) -> bool:
    """Parsable Python, or broken Python that still looks like Python (the renderer names its error)."""
    try:
        parse_python(code)
    except Rejected:
        return bool(PYTHON_SHAPE.search(code))
    return True


def _html_sign(code: str) -> bool:
    return bool(HTML_SIGN.search(code)) and not SVG_SIGN.match(code.lstrip())


def _svg_sign(code: str) -> bool:
    return bool(SVG_SIGN.search(code))


def _latex_sign(code: str) -> bool:
    return bool(LATEX_SIGN.search(code))


def _smiles_sign(code: str) -> bool:
    words = code.split()
    return bool(words) and bool(SMILES_TOKENS.fullmatch(words[0]))


@dataclass(frozen=True)
class Language:
    """One code language and where each of its parts lives.

    ``signature``: the cheap structural check of the quality filter (is this really the language?).
    ``bare_reply``: how a chat reply that *is* this code without a fence starts (``None``: only
    fenced replies count); ``bare_anywhere``: the sign may sit anywhere in the reply's head.
    ``short_code_ok``: a valid sample may be shorter than the manifest's ``min_code_chars``.
    ``code_line``: a line of this code, as opposed to prose (an answer may not carry code outside its
    fence); without one, a line dense in symbols counts as code.

    Hooks, each a ``module:function`` name resolved when first called (like the modules above, so this
    module imports none of them), with a default where one fits every language:

    ``normalise(code) -> str``: the canonical form exact deduplication compares (``core.normalise``).
    ``file_units(tree, rel, text)``: the code units of one harvested file, ``(lang, code, ref, meta)``
    (``None``: the whole file is one unit); ``container_extensions``: other files that hold units of
    this language (a ``.csv`` column of SMILES). ``file_code(text) -> str``: a file's code as
    ``vinci render`` takes it (``None``: the whole file).
    ``answer_code(code) -> (code, reason)``: the last check of a judged answer's block (``None``: the
    block is the answer); ``prose_code(line) -> bool``: a line outside the block that is code, in place
    of ``code_line`` and the symbol density.
    ``eval_metrics``: ``(name, module:function)`` pairs, ``function(reference, answer or None) -> float``,
    that ``vinci eval`` adds for this language.
    ``task_words`` / ``prompt_words``: words in a VinciCoder task file's name / an RL prompt that name
    this language.
    """

    name: str
    display: str
    extensions: tuple[str, ...]
    fence_tags: tuple[str, ...]
    signature: Callable[[str], bool]
    renderer: str
    generator: str
    perturbations: str
    bare_reply: re.Pattern | None = None
    bare_anywhere: bool = False
    short_code_ok: bool = False
    code_line: re.Pattern | None = None
    normalise: str = "core.normalise:collapse_whitespace"
    file_units: str | None = None
    container_extensions: tuple[str, ...] = ()
    file_code: str | None = None
    answer_code: str | None = None
    prose_code: str | None = None
    eval_metrics: tuple[tuple[str, str], ...] = ()
    task_words: tuple[str, ...] = ()
    prompt_words: tuple[str, ...] = ()

    def hook(self, name: str) -> Callable | None:
        """The function a hook field names, imported on first use; ``None`` where the field is unset."""
        target = getattr(self, name)
        return resolve_hook(target) if target else None

    def units_of_file(self, tree, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
        units = self.hook("file_units")
        return units(tree, rel, text) if units else iter([(self.name, text, rel, {})])

    @property
    def synthetic_source(self) -> str:
        """The source spec of its generator (``synthetic.charts`` for python)."""
        return "synthetic." + self.generator.rsplit(".", 1)[1]

    def renderer_class(self) -> type:
        return importlib.import_module(self.renderer).RENDERER

    def canvas_sentence(self, conventions: dict | None = None) -> str:
        """How a render of this language looks, in the words a prompt uses, from the renderer's own constants
        -- or, for a row drawn under its dataset's render conventions, from those (``canvas_prompt``)."""
        renderer = self.renderer_class()
        describe = getattr(renderer, "canvas_prompt", None)
        return describe(conventions) if conventions and describe else renderer.canvas.prompt


@functools.lru_cache(maxsize=None)
def resolve_hook(target: str) -> Callable:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


LANGUAGES: dict[str, Language] = {lang.name: lang for lang in (
    Language("python", "Python (matplotlib)", (".py",), ("python", "py", "python3"), _python_sign,
             "filters.render.python", "sources.synthetic.charts", "pipelines.perturb.python",
             bare_reply=re.compile(r"^\s*(import|from)\s+(matplotlib|numpy|pandas|seaborn|plotly)\b|^\s*import matplotlib", re.M),
             bare_anywhere=True,
             code_line=re.compile(r"^\s*(import \w|from \w[\w.]* import|def \w|class \w|plt\.|ax\.|fig\.|np\.|\w+\s*=[^=]|\w+(\.\w+)*\(.*\)\s*$)"),
             normalise="core.normalise:python_tokens", file_units="sources.files:plotting_script_units",
             task_words=("chart", "plot"), prompt_words=("python",)),
    Language("html", "HTML with inline CSS", (".html", ".htm"), ("html", "htm"), _html_sign,
             "filters.render.html", "sources.synthetic.html", "pipelines.perturb.html",
             bare_reply=re.compile(r"^\s*(<!DOCTYPE\s+html|<html\b)", re.I), code_line=re.compile(r"<\s*(?:/\s*)?[A-Za-z!][^<>]*>"),
             normalise="core.normalise:markup_layout", file_units="sources.files:page_units",
             task_words=("html", "web"), prompt_words=("html",)),
    Language("svg", "SVG", (".svg",), ("svg", "xml"), _svg_sign,
             "filters.render.svg", "sources.synthetic.svg", "pipelines.perturb.svg",
             bare_reply=re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--(?:(?!-->).)*-->\s*)*<svg\b", re.I | re.S),
             code_line=re.compile(r"<\s*(?:/\s*)?[A-Za-z!?][^<>]*>"),
             normalise="core.normalise:markup_layout", task_words=("svg",), prompt_words=("svg",)),
    Language("latex", "LaTeX (TikZ/pgfplots)", (".tex", ".tikz"), ("latex", "tex", "tikz"), _latex_sign,
             "filters.render.latex", "sources.synthetic.latex", "pipelines.perturb.latex",
             bare_reply=re.compile(r"^\s*(\\documentclass|\\begin\{tikzpicture\}|\\usetikzlibrary|\\usepackage)"),
             code_line=re.compile(r"\\[A-Za-z]+\s*[\[{(]|\\(begin|end|draw|node|fill|path|documentclass|usepackage)\b"),
             normalise="core.normalise:latex_comments", file_units="sources.files:tikz_units",
             task_words=("tikz", "latex"), prompt_words=("latex", "tikz")),
    Language("smiles", "SMILES", (".smi", ".smiles"), ("smiles", "smi"), _smiles_sign,
             "filters.render.smiles", "sources.synthetic.smiles", "pipelines.perturb.smiles", short_code_ok=True,
             normalise="core.normalise:canonical_smiles", file_units="sources.files:molecule_units",
             container_extensions=(".csv", ".sdf"), file_code="sources.files:first_molecule",
             answer_code="training.answers:one_smiles_token", prose_code="training.answers:smiles_line",
             eval_metrics=(("tanimoto", "training.eval:tanimoto"),), task_words=("mol", "smiles", "chem")),
)}
LANGS: tuple[str, ...] = tuple(LANGUAGES)
EXTENSIONS: dict[str, str] = {ext: lang.name for lang in LANGUAGES.values() for ext in lang.extensions}
FENCE_TAGS: dict[str, str] = {tag: lang.name for lang in LANGUAGES.values() for tag in lang.fence_tags}
SYNTHETIC_SOURCES: dict[str, str] = {lang.synthetic_source: lang.generator for lang in LANGUAGES.values()}
CONTAINERS: dict[str, str] = {ext: lang.name for lang in LANGUAGES.values() for ext in lang.container_extensions}
EVAL_METRICS: tuple[str, ...] = tuple(dict.fromkeys(name for lang in LANGUAGES.values() for name, _ in lang.eval_metrics))


class UnknownLanguage(VinciError, KeyError):
    pass


def language(name: str) -> Language:
    try:
        return LANGUAGES[name]
    except KeyError:
        raise UnknownLanguage(f"unknown language {name!r}; known: {', '.join(LANGS)}") from None


def language_of_path(path: str) -> str | None:
    """The language a file's extension names, else ``None``."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def language_of_file(path: str) -> str | None:
    """The language whose units a harvested file holds: its own extension, or a container of one."""
    ext = os.path.splitext(path)[1].lower()
    return EXTENSIONS.get(ext) or CONTAINERS.get(ext)


def normalise(lang: str, code: str) -> str:
    """``code`` in its language's canonical form (whitespace collapsed for a language vinci does not know)."""
    known = LANGUAGES.get(lang)
    return resolve_hook(known.normalise if known else Language.normalise)(code)
