"""A completion's answer, judged whole: what the reward and ``vinci eval`` render, or why nothing is.

A policy optimised against a renderer finds whatever the renderer forgives. The prompt asks for
"the complete code in one fenced block", so an answer is accepted only when it is exactly that:

* one fenced block, tagged with the target language (no second block, no unclosed fence);
* outside the block, prose only -- a line that looks like code (a tag, a TeX command, a Python
  statement, a SMILES string, a dense run of symbols) is code the renderer never sees, and an
  answer that carries it is not rewarded;
* a SMILES answer is exactly one token of printable ASCII: the renderer reads the first
  whitespace token of a ``.smi`` line (``CNCCN scale scale`` would render as ``CNCCN``), and RDKit
  skips U+FFFD at a string's ends; names after a SMILES belong to ``.smi`` files, not to answers.

Blank or near-uniform renders are judged where the render is decoded (``training.rewards``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.fences import MARK, fence_language, fences
from core.languages import LANGUAGES

SMILES_CHARS = re.compile(r"[A-Za-z0-9\[\]()=#$:/\\.+\-@%*~]+")
MAX_SMILES_PROBE = 256
SYMBOLS = set("{}[]()<>=;#\\/*&|^$@~%")


@dataclass(frozen=True)
class Answer:
    """``code`` to render, or ``None`` with the ``reason`` the completion earns nothing."""

    code: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None


def completion_text(completion: Any) -> str:
    """trl passes plain strings or conversational turns ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    parts = []
    for turn in completion:
        content = turn.get("content", "")
        parts.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content if isinstance(p, dict)))
    return "\n".join(parts)


def judge(completion: Any, lang: str) -> Answer:
    """The code of a completion that answers in ``lang`` as asked, else the reason it does not."""
    text = completion_text(completion)
    blocks = fences(text)
    if not blocks:
        return Answer(None, "no_block")
    if len(blocks) > 1:
        return Answer(None, "several_blocks")
    block = blocks[0]
    if fence_language(block.tag) != lang:
        return Answer(None, "wrong_language")
    outside = text[:block.start] + "\n" + text[block.end:]
    if MARK in outside:
        return Answer(None, "unclosed_fence")
    if any(looks_like_code(line, lang) for line in outside.splitlines()):
        return Answer(None, "code_outside_block")
    code = block.body.strip("\n")
    if not code.strip():
        return Answer(None, "empty_block")
    last_check = LANGUAGES[lang].hook("answer_code") if lang in LANGUAGES else None
    return Answer(*last_check(code)) if last_check else Answer(code)


def one_smiles_token(code: str) -> tuple[str | None, str | None]:
    """SMILES's ``answer_code`` hook: the block is one token of printable ASCII."""
    smiles = code.strip()
    if any(not ("!" <= ch <= "~") for ch in smiles):
        return None, "smiles_not_one_ascii_token"
    return smiles, None


def looks_like_code(line: str, lang: str) -> bool:
    """Is this line (outside the block) code rather than prose?"""
    line = line.strip()
    if not line:
        return False
    known = LANGUAGES.get(lang)
    prose_code = known.hook("prose_code") if known else None
    if prose_code:
        return prose_code(line)
    pattern = known.code_line if known else None
    if pattern is not None and pattern.search(line):
        return True
    visible = [ch for ch in line if not ch.isspace()]
    return len(visible) >= 8 and sum(ch in SYMBOLS for ch in visible) / len(visible) > 0.2


def smiles_line(line: str) -> bool:
    """SMILES's ``prose_code`` hook: a line with a token RDKit reads as a molecule is code."""
    return any(_is_smiles_like(token) for token in line.split())


def _is_smiles_like(token: str) -> bool:
    """A token that RDKit reads as a molecule of 2+ atoms (English words do not parse: ``Here``, ``The``)."""
    token = token.strip(".,;:!?\"'`()")
    if len(token) < 3 or not SMILES_CHARS.fullmatch(token):
        return False
    if len(token) > MAX_SMILES_PROBE:  # no prose word is this long; RDKit is not asked about it
        return True
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(token)
    return mol is not None and mol.GetNumAtoms() >= 2


def extract_code(completion: Any, lang: str) -> str | None:
    """The code the reward renders (``None``: the completion is not rewarded)."""
    return judge(completion, lang).code
