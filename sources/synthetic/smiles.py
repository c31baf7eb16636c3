"""Drug-like molecules: real NCI structures shipped with RDKit, varied by chemical edits.

The seed set is RDKit's ``Data/NCI/first_5K.smi`` (5,000 compounds of the US National Cancer
Institute's open database) filtered to drug-like size and elements. Each sample is a seed molecule
with 0-2 edits -- substituent swaps, ring-atom changes, fragment joins -- kept only when RDKit
sanitizes it, and emitted as canonical SMILES.
"""
from __future__ import annotations

import functools
import os
import random
from typing import Iterator

from ..base import RawSample, indexed
from .molecule_edits import EDITS

LICENSE = "NCI Open Database (public domain) via RDKit's data files; edits CC0-1.0"
ALLOWED_ELEMENTS = frozenset({"C", "N", "O", "S", "F", "Cl", "Br", "I", "P"})


@functools.cache
def seed_molecules() -> tuple[str, ...]:
    """Canonical, drug-like SMILES of the NCI set (cached per process; ~1 s)."""
    from rdkit import Chem, RDConfig, RDLogger
    from rdkit.Chem import Descriptors

    RDLogger.DisableLog("rdApp.*")
    path = os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")
    keep = []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            mol = Chem.MolFromSmiles(parts[0])
            if mol is None or "." in parts[0]:
                continue
            heavy = mol.GetNumHeavyAtoms()
            if not 8 <= heavy <= 45 or any(a.GetSymbol() not in ALLOWED_ELEMENTS for a in mol.GetAtoms()):
                continue
            if not 120 <= Descriptors.MolWt(mol) <= 600:
                continue
            keep.append(Chem.MolToSmiles(mol))
    return tuple(dict.fromkeys(keep))


def sanitized_smiles(mol) -> str | None:
    from rdkit import Chem

    if mol is None:
        return None
    try:
        mol = Chem.Mol(mol)
        Chem.SanitizeMol(mol)
        smiles = Chem.MolToSmiles(mol)
        return smiles if Chem.MolFromSmiles(smiles) is not None else None
    except Exception:  # noqa: BLE001 - RDKit raises valence and kekulization errors of several types
        return None


def _one(rng: random.Random, index: int) -> RawSample:
    from rdkit import Chem

    seeds = seed_molecules()
    for _ in range(20):
        base = rng.choice(seeds)
        mol = Chem.MolFromSmiles(base)
        applied = []
        for name in rng.sample(list(EDITS), rng.choice([0, 1, 1, 2, 2])):
            edited = EDITS[name](mol, rng)
            if sanitized_smiles(edited) is not None:
                mol = Chem.MolFromSmiles(sanitized_smiles(edited))
                applied.append(name)
        smiles = sanitized_smiles(mol)
        if smiles and Chem.MolFromSmiles(smiles).GetNumHeavyAtoms() <= 60:
            return RawSample(lang="smiles", code=smiles, source="synthetic.smiles", source_ref=f"smiles/nci:{base}/{index}",
                             license=LICENSE, meta={"kind": "+".join(applied) or "seed", "seed_smiles": base})
    raise RuntimeError("could not produce a valid molecule in 20 tries")


def generate(seed: int = 0, start: int = 0) -> Iterator[RawSample]:
    return indexed(_one, "smiles", seed, start)
