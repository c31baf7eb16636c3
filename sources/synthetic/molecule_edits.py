"""Chemical edits of a molecule: what varies the SMILES generator's seeds, and what two SMILES
perturbations reuse. Each takes an RDKit molecule and a seeded RNG and returns the edited molecule,
or ``None`` where the edit has no site; the caller sanitizes."""
from __future__ import annotations

import random
from typing import Callable

SUBSTITUENTS = ["F", "Cl", "Br", "C", "OC", "N", "C(F)(F)F", "C#N", "O", "C(=O)O", "N(C)C", "C(N)=O", "S(C)(=O)=O", "CC"]
FRAGMENTS = ["c1ccccc1", "C1CC1", "C1COCCN1", "C1CNCCN1", "c1ccncc1", "c1ccsc1", "C1CCCCC1", "c1cnoc1"]


def _carbons_with_h(mol, rng: random.Random):
    atoms = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "C" and a.GetTotalNumHs() > 0]
    return rng.choice(atoms) if atoms else None


def add_substituent(mol, rng: random.Random):
    from rdkit import Chem

    site = _carbons_with_h(mol, rng)
    if site is None:
        return None
    return _join(mol, Chem.MolFromSmiles(rng.choice(SUBSTITUENTS)), site)


def join_fragment(mol, rng: random.Random):
    from rdkit import Chem

    site = _carbons_with_h(mol, rng)
    if site is None:
        return None
    return _join(mol, Chem.MolFromSmiles(rng.choice(FRAGMENTS)), site)


def _join(mol, fragment, site: int):
    from rdkit import Chem

    anchor = next((a.GetIdx() for a in fragment.GetAtoms() if a.GetTotalNumHs() > 0 or a.GetSymbol() in ("F", "Cl", "Br")), 0)
    combined = Chem.RWMol(Chem.CombineMols(mol, fragment))
    combined.AddBond(site, mol.GetNumAtoms() + anchor, Chem.BondType.SINGLE)
    for idx in (site, mol.GetNumAtoms() + anchor):
        combined.GetAtomWithIdx(idx).SetNoImplicit(False)
        combined.GetAtomWithIdx(idx).SetNumExplicitHs(0)
    return combined.GetMol()


def swap_halogen_or_chalcogen(mol, rng: random.Random):
    from rdkit import Chem

    swaps = {"F": ["Cl", "Br"], "Cl": ["F", "Br"], "Br": ["Cl", "F"], "O": ["S"], "S": ["O"]}
    sites = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() in swaps and not a.GetIsAromatic()]
    if not sites:
        return None
    rw = Chem.RWMol(mol)
    atom = rw.GetAtomWithIdx(rng.choice(sites))
    atom.SetAtomicNum(Chem.GetPeriodicTable().GetAtomicNumber(rng.choice(swaps[atom.GetSymbol()])))
    return rw.GetMol()


def ring_atom_change(mol, rng: random.Random):
    """Aromatic CH → N (benzene → pyridine) or the reverse."""
    from rdkit import Chem

    sites = [a.GetIdx() for a in mol.GetAtoms() if a.GetIsAromatic() and a.IsInRingSize(6) and a.GetDegree() == 2
             and a.GetSymbol() in ("C", "N") and a.GetFormalCharge() == 0]
    if not sites:
        return None
    rw = Chem.RWMol(mol)
    atom = rw.GetAtomWithIdx(rng.choice(sites))
    atom.SetAtomicNum(7 if atom.GetSymbol() == "C" else 6)
    atom.SetNoImplicit(False)
    atom.SetNumExplicitHs(0)
    return rw.GetMol()


EDITS: dict[str, Callable] = {f.__name__: f for f in (add_substituent, join_fragment, swap_halogen_or_chalcogen, ring_atom_change)}
