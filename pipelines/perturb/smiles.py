"""SMILES perturbations: RDKit edits of the molecule graph; every visual edit must sanitize."""
from __future__ import annotations

import random
import re

from .base import perturbation

SWAPS = {"C": ["N", "O", "S"], "N": ["C", "O"], "O": ["N", "S"], "S": ["O"], "F": ["Cl", "Br"], "Cl": ["F", "Br"], "Br": ["Cl"]}
GROUPS = [("[OX2H]", "N"), ("[NX3H2]", "O"), ("C(=O)[OH]", "C(=O)N"), ("[Cl]", "Br"), ("C#N", "C(F)(F)F"), ("[CH3]", "C(F)(F)F")]


def _mol(code: str):
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    tokens = code.split()
    return Chem.MolFromSmiles(tokens[0]) if tokens else None


def _out(mol, original: str) -> str | None:
    from rdkit import Chem

    try:
        mol = Chem.Mol(mol)
        Chem.SanitizeMol(mol)
        smiles = Chem.MolToSmiles(mol)
    except Exception:  # noqa: BLE001 - RDKit raises several error types for an invalid edit
        return None
    if Chem.MolFromSmiles(smiles) is None or smiles == Chem.MolToSmiles(_mol(original)):
        return None
    return smiles


def _first_valid(code: str, mol, sites: list[int], edit, rng: random.Random, tries: int) -> str | None:
    """Apply ``edit(rwmol, site)`` to a copy for up to ``tries`` shuffled sites; the first that sanitizes wins."""
    from rdkit import Chem

    rng.shuffle(sites)
    for site in sites[:tries]:
        rw = Chem.RWMol(mol)
        edit(rw, site)
        out = _out(rw.GetMol(), code)
        if out:
            return out
    return None


def _reset_hydrogens(*atoms) -> None:
    for atom in atoms:
        atom.SetNoImplicit(False)
        atom.SetNumExplicitHs(0)


@perturbation("smiles", "atom_swap")
def atom_swap(code: str, rng: random.Random) -> str | None:
    from rdkit import Chem

    mol = _mol(code)
    if mol is None:
        return None

    def swap(rw, idx):
        atom = rw.GetAtomWithIdx(idx)
        atom.SetAtomicNum(Chem.GetPeriodicTable().GetAtomicNumber(rng.choice(SWAPS[atom.GetSymbol()])))
        _reset_hydrogens(atom)

    sites = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() in SWAPS and not a.GetIsAromatic()]
    return _first_valid(code, mol, sites, swap, rng, tries=6)


@perturbation("smiles", "bond_order")
def bond_order(code: str, rng: random.Random) -> str | None:
    from rdkit import Chem

    mol = _mol(code)
    if mol is None:
        return None

    def toggle(rw, idx):
        bond = rw.GetBondWithIdx(idx)
        bond.SetBondType(Chem.BondType.DOUBLE if bond.GetBondType() == Chem.BondType.SINGLE else Chem.BondType.SINGLE)
        _reset_hydrogens(bond.GetBeginAtom(), bond.GetEndAtom())

    bonds = [b.GetIdx() for b in mol.GetBonds() if not b.GetIsAromatic() and b.GetBondType() in
             (Chem.BondType.SINGLE, Chem.BondType.DOUBLE)]
    return _first_valid(code, mol, bonds, toggle, rng, tries=8)


@perturbation("smiles", "add_substituent")
def add_substituent(code: str, rng: random.Random) -> str | None:
    from sources.synthetic.molecule_edits import add_substituent as attach

    mol = _mol(code)
    return _out(attach(mol, rng), code) if mol is not None else None


@perturbation("smiles", "remove_substituent")
def remove_substituent(code: str, rng: random.Random) -> str | None:
    from rdkit import Chem

    mol = _mol(code)
    if mol is None or mol.GetNumHeavyAtoms() < 4:
        return None
    terminal = [a.GetIdx() for a in mol.GetAtoms() if a.GetDegree() == 1 and not a.IsInRing()]
    if not terminal:
        return None
    rw = Chem.RWMol(mol)
    idx = rng.choice(terminal)
    _reset_hydrogens(rw.GetAtomWithIdx(idx).GetNeighbors()[0])
    rw.RemoveAtom(idx)
    return _out(rw.GetMol(), code)


@perturbation("smiles", "ring_size")
def ring_size(code: str, rng: random.Random) -> str | None:
    """Insert a CH2 into a bond of a non-aromatic ring (or an aromatic ring's substituent-free side)."""
    from rdkit import Chem

    mol = _mol(code)
    if mol is None:
        return None
    bonds = [b for b in mol.GetBonds() if b.IsInRing() and not b.GetIsAromatic() and b.GetBondType() == Chem.BondType.SINGLE]
    if not bonds:
        return None
    bond = rng.choice(bonds)
    rw = Chem.RWMol(mol)
    a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
    rw.RemoveBond(a, b)
    new = rw.AddAtom(Chem.Atom(6))
    rw.AddBond(a, new, Chem.BondType.SINGLE)
    rw.AddBond(new, b, Chem.BondType.SINGLE)
    return _out(rw.GetMol(), code)


@perturbation("smiles", "stereo_flip")
def stereo_flip(code: str, rng: random.Random) -> str | None:
    from rdkit import Chem

    mol = _mol(code)
    if mol is None:
        return None
    centers = [a.GetIdx() for a in mol.GetAtoms() if a.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED]
    if not centers:
        candidates = [c for c, _ in Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False)]
        if not candidates:
            return None
        rw = Chem.RWMol(mol)
        rw.GetAtomWithIdx(rng.choice(candidates)).SetChiralTag(Chem.ChiralType.CHI_TETRAHEDRAL_CW)
        return _out(rw.GetMol(), code)
    rw = Chem.RWMol(mol)
    rw.GetAtomWithIdx(rng.choice(centers)).InvertChirality()
    return _out(rw.GetMol(), code)


@perturbation("smiles", "functional_group")
def functional_group(code: str, rng: random.Random) -> str | None:
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = _mol(code)
    if mol is None:
        return None
    for pattern, replacement in rng.sample(GROUPS, len(GROUPS)):
        query = Chem.MolFromSmarts(pattern)
        if mol.HasSubstructMatch(query):
            products = AllChem.ReplaceSubstructs(mol, query, Chem.MolFromSmiles(replacement))
            out = _out(products[0], code)
            if out:
                return out
    return None


@perturbation("smiles", "aromatic_atom")
def aromatic_atom(code: str, rng: random.Random) -> str | None:
    from sources.synthetic.molecule_edits import ring_atom_change

    mol = _mol(code)
    return _out(ring_atom_change(mol, rng), code) if mol is not None else None


@perturbation("smiles", "invalid_valence", error="runtime")
def invalid_valence(code: str, rng: random.Random) -> str | None:
    """A fifth bond on a carbon, written the way hand-edited SMILES go wrong: ``C(C)(C)(C)(C)C``."""
    tokens = code.split()
    if not tokens:
        return None
    smiles = tokens[0]
    sites = [m.end() for m in re.finditer(r"(?<![A-Za-z\[])C(?![a-z\]])", smiles)]
    if not sites:
        return None
    at = rng.choice(sites)
    return smiles[:at] + "(C)(C)(C)(C)" + smiles[at:]


@perturbation("smiles", "unclosed_ring", error="syntax")
def unclosed_ring(code: str, rng: random.Random) -> str | None:
    tokens = code.split()
    if not tokens:
        return None
    smiles = tokens[0]
    digits = [m.start() for m in re.finditer(r"(?<![\[%\d])\d", smiles)]
    if not digits:
        return None
    at = rng.choice(digits)
    return smiles[:at] + smiles[at + 1:]


PERTURBATIONS = [atom_swap, bond_order, add_substituent, remove_substituent, ring_size, stereo_flip, functional_group,
                 aromatic_atom, invalid_valence, unclosed_ring]
