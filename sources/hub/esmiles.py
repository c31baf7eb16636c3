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
ATOM_TAG = re.compile(r"<a>\s*(\d+)\s*:\s*(.*?)\s*</a>")
R_LABEL = re.compile(r"^R\[?(\d*)\]?'*$")


def plain_smiles(label: str) -> tuple[str | None, str | None]:
    """(SMILES, None) when ``label`` is plain or its extension can be stripped, else (None, reason)."""
    label = (label or "").strip()
    if SEP not in label:
        return label, None
    backbone, extension = (part.strip() for part in label.split(SEP, 1))
    if not extension:
        return backbone, None
    atoms = ATOM_TAG.findall(extension)
    if ATOM_TAG.sub("", extension).strip():
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
