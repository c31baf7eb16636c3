"""MolParser's extended SMILES (E-SMILES) to plain SMILES, or a reason why not.

An E-SMILES label is ``BACKBONE<sep>EXTENSION``: the backbone is RDKit-readable SMILES with ``*``
atoms; the extension annotates them with tags -- ``<a>IDX:LABEL</a>`` names what atom IDX stands
for (``<dum>`` an attachment point, ``R``/``R1``... an R-group, ``Ph``/``Boc``... an abbreviation),
``<r>...</r>`` a variable ring position and ``<c>...</c>`` a repeating fragment. Plain SMILES can
say "attachment point" (``*``) and "R-group number n" (``[n*]``) but not a variable position, a
repeat, or which abbreviation a ``*`` hides, so only those two kinds of extension are converted;
every other label is refused with its reason rather than rendered as a different molecule.
"""
from __future__ import annotations

import re

SEP = "<sep>"
TAG_HEAD = re.compile(r"\s*(\d+)\s*:")
R_LABEL = re.compile(r"^R\[?(\d*)\]?'*$")
MAX_LABEL_CHARS = 4096


def atom_tags(extension: str) -> tuple[list[tuple[str, str]], str]:
    """(index, label) of each ``<a>IDX:LABEL</a>`` tag and the text outside the tags, as the pattern
    ``<a>\\s*(\\d+)\\s*:\\s*(.*?)\\s*</a>`` finds them (a label on one line, up to the first ``</a>``),
    in one forward pass: the next ``</a>``, the end of its label and the next line break are found
    once and reused, where the regex rescans to the end from every unclosed ``<a>``."""
    tags, outside, pos = [], [], 0
    close = body_end = newline = -1
    while (start := extension.find("<a>", pos)) >= 0:
        if close < start + 3:
            close = extension.find("</a>", start + 3)
            if close < 0:
                break
            body_end = close
            while body_end > start + 3 and extension[body_end - 1].isspace():
                body_end -= 1
        head = TAG_HEAD.match(extension, start + 3, close)
        if head is not None:
            body_start = head.end()
            while body_start < body_end and extension[body_start].isspace():
                body_start += 1
            if newline < body_start:
                newline = extension.find("\n", body_start)
                newline = len(extension) if newline < 0 else newline
            if newline >= body_end:
                outside.append(extension[pos:start])
                tags.append((head.group(1), extension[body_start:body_end]))
                pos = close + 4
                continue
        outside.append(extension[pos:start + 1])
        pos = start + 1
    outside.append(extension[pos:])
    return tags, "".join(outside)


def plain_smiles(label: str) -> tuple[str | None, str | None]:
    """(SMILES, None) when ``label`` is plain or its extension can be stripped, else (None, reason)."""
    label = (label or "").strip()
    if SEP not in label:
        return label, None
    backbone, extension = (part.strip() for part in label.split(SEP, 1))
    if not extension:
        return backbone, None
    if len(label) > MAX_LABEL_CHARS:
        return None, "esmiles_too_long"
    atoms, outside = atom_tags(extension)
    if outside.strip():
        return None, "esmiles_structure_tag"
    wanted: dict[int, int] = {}
    for index, name in atoms:
        if name in ("<dum>", "dum"):
            continue
        match = R_LABEL.match(name)
        if match is None:
            return None, "esmiles_abbreviation"
        wanted[int(index)] = int(match.group(1) or 0)
    if not wanted:
        return backbone, None
    return _label_r_groups(backbone, wanted)


def _label_r_groups(backbone: str, isotopes: dict[int, int]) -> tuple[str | None, str | None]:
    """Write each R-group's number as the isotope of its ``*`` atom (``[1*]``), the SMILES idiom."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(backbone, sanitize=False)
    if mol is None:
        return None, "esmiles_unreadable_backbone"
    for index, number in isotopes.items():
        if index >= mol.GetNumAtoms() or mol.GetAtomWithIdx(index).GetSymbol() != "*":
            return None, "esmiles_bad_atom_index"
        mol.GetAtomWithIdx(index).SetIsotope(number)
    return Chem.MolToSmiles(mol, canonical=False), None
