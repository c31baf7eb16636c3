"""Canonical forms of code, per language, so that reformatted copies of one sample compare equal
(exact deduplication, decontamination, the "did the edit change anything" check of perturbations).

Each function is a ``Language.normalise`` hook of ``core.languages``. They run on untrusted code, so
none backtracks: comments are cut by ``str.find``, whitespace runs are matched once.
"""
from __future__ import annotations

import io
import re
import tokenize

WHITESPACE = re.compile(r"\s+")
LATEX_COMMENT = re.compile(r"(?<!\\)%.*")
PYTHON_COMMENT = re.compile(r"#.*")


def collapse_whitespace(code: str) -> str:
    """The default: every whitespace run one space, none at the ends."""
    return WHITESPACE.sub(" ", code).strip()


def python_tokens(code: str) -> str:
    """The token strings, without comments, blank lines and indentation tokens; broken Python less its
    ``#`` comments."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)]
        return " ".join(t.string for t in tokens if t.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return collapse_whitespace(PYTHON_COMMENT.sub("", code))


def markup_layout(code: str) -> str:
    """HTML/SVG less ``<!-- -->`` comments and the whitespace between tags."""
    return collapse_whitespace(WHITESPACE.sub(lambda m: "" if _beside_tag(m) else m.group(0), without_comments(code)))


def latex_comments(code: str) -> str:
    """TeX less its ``%`` comments (an escaped ``\\%`` is text)."""
    return collapse_whitespace(LATEX_COMMENT.sub("", code))


def canonical_smiles(code: str) -> str:
    """RDKit's canonical SMILES of the first token; the token itself when RDKit cannot read it."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    token = code.split()[0] if code.split() else ""
    mol = Chem.MolFromSmiles(token)
    return Chem.MolToSmiles(mol) if mol is not None else token


def without_comments(code: str) -> str:
    """``code`` less its ``<!-- -->`` comments, by ``str.find`` (a lazy regex rescans to the end from
    every unclosed ``<!--``: quadratic on untrusted code)."""
    kept, pos = [], 0
    while (start := code.find("<!--", pos)) >= 0 and (stop := code.find("-->", start + 4)) >= 0:
        kept.append(code[pos:start])
        pos = stop + 3
    kept.append(code[pos:])
    return "".join(kept)


def _beside_tag(run: re.Match) -> bool:
    """A whitespace run right after ``>`` or right before ``<`` (layout between tags)."""
    text, start, end = run.string, run.start(), run.end()
    return (start > 0 and text[start - 1] == ">") or (end < len(text) and text[end] == "<")
