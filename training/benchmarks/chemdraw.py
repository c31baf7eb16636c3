"""ChemDraw: molecule image -> SMILES, scored by exact match and Tanimoto similarity.

Data (``--data``): MolScribe's benchmark layout, a CSV with columns ``image_id``, ``file_path``
(the picture, relative to the CSV's folder) and ``SMILES`` (``synthetic/chemdraw.csv``), or a folder
holding exactly one such CSV.

Metrics, per answer:

* valid: RDKit parses the answer;
* exact: canonical isomeric SMILES of answer and reference are equal (stereo counts; MolScribe's main
  metric additionally ignores cis/trans bonds: ``exact_no_cistrans``);
* tanimoto: Tanimoto similarity of Morgan fingerprints, radius 2, 2,048 bits (0 when either side
  does not parse).

The answer's picture (for the contact sheet) is drawn in the sandbox's SMILES renderer; parsing for
the scores happens here, on a string of at most ``MAX_SMILES`` characters.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import ClassVar, Sequence

from .base import BenchmarkError, Column, Sample, mean_percent

MAX_SMILES = 2000
RADIUS = 2
BITS = 2048


def molecule(smiles: str | None):
    if not smiles or len(smiles) > MAX_SMILES:
        return None
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return Chem.MolFromSmiles(smiles.strip())


def canonical(mol, cistrans: bool = True) -> str:
    from rdkit import Chem

    text = Chem.MolToSmiles(mol)
    if not cistrans:
        again = Chem.MolFromSmiles(text.replace("/", "").replace("\\", ""))
        text = Chem.MolToSmiles(again) if again is not None else text
    return text


def tanimoto(a, b) -> float:
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=RADIUS, fpSize=BITS)
    return float(DataStructs.TanimotoSimilarity(gen.GetFingerprint(a), gen.GetFingerprint(b)))


def compare(answer: str | None, reference: str) -> dict[str, float]:
    gold, mol = molecule(reference), molecule(answer)
    if gold is None:
        raise BenchmarkError(f"reference SMILES {reference[:60]!r} does not parse")
    if mol is None:
        return {"valid": 0.0, "exact": 0.0, "exact_no_cistrans": 0.0, "tanimoto": 0.0}
    return {"valid": 1.0, "exact": float(canonical(mol) == canonical(gold)),
            "exact_no_cistrans": float(canonical(mol, False) == canonical(gold, False)),
            "tanimoto": tanimoto(mol, gold)}


class ChemDraw:
    name: ClassVar[str] = "chemdraw"
    title: ClassVar[str] = "ChemDraw (image to SMILES)"
    lang: ClassVar[str] = "smiles"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("valid", "Valid"), Column("exact", "Exact"), Column("exact_no_cistrans", "Exact (no cis/trans)"),
        Column("tanimoto", "Tanimoto"))
    not_computed: ClassVar[dict[str, str]] = {}
    layout: ClassVar[str] = "MolScribe's CSV (image_id, file_path, SMILES) with the pictures beside it"

    def load(self, data: str) -> list[Sample]:
        path = Path(data)
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if len(found) != 1:
                raise BenchmarkError(f"{data}: expected one CSV (image_id, file_path, SMILES), found {len(found)}")
            path = found[0]
        if not path.is_file():
            raise BenchmarkError(f"{data}: no such file")
        samples = []
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"image_id", "file_path", "SMILES"} - set(reader.fieldnames or [])
            if missing:
                raise BenchmarkError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            root = path.parent.resolve()
            for number, row in enumerate(reader, 2):
                picture = (root / row["file_path"]).resolve()
                if root not in picture.parents or not picture.is_file():
                    raise BenchmarkError(f"{path}:{number}: picture {row['file_path']!r} is not a file under {root}")
                samples.append(Sample(str(row["image_id"]), picture.read_bytes(), row["SMILES"]))
        if not samples:
            raise BenchmarkError(f"{path}: no rows")
        return samples

    def score(self, samples: Sequence[Sample], codes: Sequence[str | None], service):
        todo = [i for i, c in enumerate(codes) if c is not None]
        renders = dict(zip(todo, service.render_many([("smiles", codes[i]) for i in todo])))
        out = []
        for i, sample in enumerate(samples):
            metrics = compare(codes[i], sample.reference)
            result = renders.get(i)
            error = None if result is None or result.ok else f"{result.error_kind}: {result.first_line()}"
            if codes[i] is None:
                error = "no acceptable answer"
            elif not metrics["valid"]:
                error = error or "RDKit cannot parse the answer"
            out.append((metrics, result.png if result is not None and result.ok else None, error))
        return out

    def summary(self, rows: list[dict]) -> dict[str, float]:
        return {c.title: mean_percent(rows, c.key) for c in self.columns}
