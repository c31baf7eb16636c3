"""Drug-like molecules: real NCI structures shipped with RDKit, varied by chemical edits.

The seed set is RDKit's ``Data/NCI/first_5K.smi`` (5,000 compounds of the US National Cancer
Institute's open database) filtered to drug-like size and elements. Each sample is a seed molecule
with 0-2 edits -- substituent swaps, ring-atom changes, fragment joins -- kept only when RDKit
sanitizes it, and emitted as canonical SMILES.

Option ``family: simple`` (manifest ``options:`` of ``synthetic.smiles``) draws instead molecules
that differ only in what a depiction shows plainly: a carbon chain of 1 to ``max_chain`` atoms,
0 to ``max_rings`` six-membered rings (benzene or cyclohexane) at its ends, and at most one
heteroatom of ``heteroatoms`` (O, N, S in the chain; halogens at its end) -- short answers a
picture determines, for controlled learning tasks (``benchmarks/learning_curve.py --profile canary``).
"""
from __future__ import annotations

import functools
import os
import random
from typing import Iterator

from core.errors import SourceError

from ..base import RawSample, indexed
from ..registry import SourceOptions
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


FAMILIES = ("nci", "simple")
RINGS = ("c{n}ccccc{n}", "C{n}CCCCC{n}")
CHAIN_HETEROATOMS = frozenset({"O", "N", "S"})
TERMINAL_HETEROATOMS = frozenset({"F", "Cl", "Br", "I"})


def simple_smiles(rng: random.Random, max_chain: int, max_rings: int, heteroatoms: tuple[str, ...]) -> str:
    """Canonical SMILES of [ring] chain [ring], the chain with at most one heteroatom."""
    from rdkit import Chem

    chain = ["C"] * rng.randint(1, max_chain)
    choice = rng.choice((None, *heteroatoms)) if heteroatoms else None
    if choice in TERMINAL_HETEROATOMS:
        chain.append(choice)
    elif choice is not None:
        chain[rng.randrange(len(chain))] = choice
    rings = [rng.choice(RINGS).format(n=i + 1) for i in range(rng.randint(0, max_rings))]
    if choice in TERMINAL_HETEROATOMS:
        rings = rings[:1]  # the halogen ends the chain: one end left for a ring
    smiles = (rings[0] if rings else "") + "".join(chain) + (rings[1] if len(rings) > 1 else "")
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


class Options(SourceOptions):
    """``family``: ``nci`` (RDKit's NCI molecules, edited) or ``simple`` (a chain with up to ``max_rings``
    rings and ``heteroatoms``)."""

    family: str = "nci"
    max_chain: int = 8
    max_rings: int = 2
    heteroatoms: list[str] | None = None


def generate(seed: int = 0, start: int = 0, family: str = "nci", max_chain: int = 8, max_rings: int = 2,
             heteroatoms: list[str] | None = None) -> Iterator[RawSample]:
    """NCI-derived molecules (``family: nci``) or the plain ones of ``simple_smiles`` (``family: simple``)."""
    if family not in FAMILIES:
        raise SourceError(f"synthetic.smiles: family must be one of {list(FAMILIES)}, not {family!r}")
    hetero = tuple(heteroatoms) if heteroatoms is not None else ("O", "N", "S", "Cl")
    unknown = [h for h in hetero if h not in CHAIN_HETEROATOMS | TERMINAL_HETEROATOMS]
    if unknown or max_chain < 1 or not 0 <= max_rings <= 2:
        raise SourceError(f"synthetic.smiles: needs max_chain >= 1, max_rings 0..2 and heteroatoms among "
                          f"{sorted(CHAIN_HETEROATOMS | TERMINAL_HETEROATOMS)} (got {max_chain}, {max_rings}, {list(hetero)})")
    if family == "nci":
        return indexed(_one, "smiles", seed, start)

    def one(rng: random.Random, index: int) -> RawSample:
        code = simple_smiles(rng, max_chain, max_rings, hetero)
        return RawSample(lang="smiles", code=code, source="synthetic.smiles", source_ref=f"smiles/simple/{index}",
                         license="CC0-1.0 (procedurally generated by vinci)", meta={"kind": "simple"})

    return indexed(one, "smiles-simple", seed, start)
