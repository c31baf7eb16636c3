"""Layout readers: one function per way a dataset row holds code and picture, in one registry.

A reader turns one row into a ``Harvest`` (language, code, the dataset's own image, notes) and
never raises for a bad row: it says what is wrong in ``meta["harvest_error"]`` so the row becomes
a counted drop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Callable

from core.fences import fenced_blocks
from core.languages import LANGUAGES

from .code import chat_code, reply_code
from .images import ImageRoot, image_bytes


@dataclass
class Harvest:
    lang: str | None
    code: str | None
    image: bytes | None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RowContext:
    """What a reader needs beyond the row: the spec's columns and language, the file the row came
    from (VinciCoder names its task files ``chart2code_refine.parquet``...), the image root."""

    columns: dict[str, str]
    lang: str | None
    file: str = ""
    image_root: ImageRoot | None = None

    def column(self, role: str) -> str | None:
        return self.columns.get(role)

    def image(self, row: dict) -> bytes | None:
        name = self.column("image")
        return image_bytes(row.get(name), self.image_root) if name else None


Reader = Callable[[dict, RowContext], Harvest]
LAYOUTS: dict[str, Reader] = {}
# What VinciCoder's task files are about, by words in their names (chart2code_*, web2html_*, img2svg_*...):
# each language's ``task_words``, in the registry's order.
TASK_WORDS = tuple((word, lang.name) for lang in LANGUAGES.values() for word in lang.task_words)
# The VinciCoder RL reward tries the languages in this order, each by its ``prompt_words``.
VINCICODER_PROMPT_ORDER = ("svg", "html", "python", "latex")
PROMPT_WORDS = tuple((word, name) for name in VINCICODER_PROMPT_ORDER for word in LANGUAGES[name].prompt_words)


def layout(name: str) -> Callable[[Reader], Reader]:
    def register(fn: Reader) -> Reader:
        LAYOUTS[name] = fn
        return fn

    return register


@layout("columns")
def read_columns(row: dict, ctx: RowContext) -> Harvest:
    """Code in one column, the picture (bytes, Image feature or path) in another."""
    return Harvest(ctx.lang, row.get(ctx.column("code")), ctx.image(row))


@layout("llava")
def read_llava(row: dict, ctx: RowContext) -> Harvest:
    """LLaVA JSON: ``conversations`` of ``from``/``value`` turns, ``image`` a path into the image root."""
    lang, code = chat_code(row.get(ctx.column("chat")), ctx.lang)
    meta = {} if code is not None else {"harvest_error": "no_code_in_reply"}
    image = ctx.image(row)
    if image is None and isinstance(row.get(ctx.column("image") or ""), str) and ctx.image_root is not None:
        meta.setdefault("harvest_error", "image_not_in_root")
    return Harvest(ctx.lang or lang, code, image, meta)


@layout("vinci_sft")
def read_vinci_sft(row: dict, ctx: RowContext) -> Harvest:
    """VinciCoder SFT Parquet: ``user_content``/``assistant_content`` text, ``image`` raw PNG bytes.

    A refine row's prompt holds the draft code in a fence; it becomes the optimize row's
    ``flawed_code`` (``meta["flawed_code"]``) and the reply's code the corrected one.
    """
    hint = task_language(ctx.file)
    lang, code = reply_code(row.get(ctx.column("reply")), hint)
    meta: dict[str, Any] = {"task_file": PurePosixPath(ctx.file).name} if ctx.file else {}
    if code is None:
        meta["harvest_error"] = "no_code_in_reply"
    drafts = fenced_blocks(row.get(ctx.column("prompt")))
    if drafts and code is not None:
        meta["flawed_code"] = drafts[-1][1]
    return Harvest(lang, code, ctx.image(row), meta)


@layout("easyr1")
def read_easyr1(row: dict, ctx: RowContext) -> Harvest:
    """EasyR1 RL rows: ``problem`` (with ``<image>``), ``answer`` (the reference code), ``images`` (a list)."""
    prompt = row.get(ctx.column("prompt"))
    hint = prompt_language(prompt if isinstance(prompt, str) else "")
    lang, code = reply_code(row.get(ctx.column("reply")), hint)
    if code is None and isinstance(row.get(ctx.column("reply")), str) and hint:
        lang, code = hint, row[ctx.column("reply")].strip()
    meta = {} if code else {"harvest_error": "no_code_in_reply"}
    return Harvest(lang or hint, code, ctx.image(row), meta)


def task_language(file: str) -> str | None:
    stem = PurePosixPath(file).stem.lower()
    return next((lang for word, lang in TASK_WORDS if word in stem), None)


def prompt_language(prompt: str) -> str | None:
    lower = prompt.lower()
    return next((lang for word, lang in PROMPT_WORDS if word in lower), None)
