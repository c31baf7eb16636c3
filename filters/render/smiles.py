"""SMILES renderer: RDKit 2D depiction on a fixed square canvas."""
from __future__ import annotations

from typing import Any

from .base import Canvas, Convention, RenderError, Renderer, resolve_conventions

SIZE = 512
MAX_HEAVY_ATOMS = 300


class SmilesRenderer(Renderer):
    lang = "smiles"
    canvas = Canvas(
        f"{SIZE}x{SIZE} px, white background, RDKit 2D depiction; at most {MAX_HEAVY_ATOMS} heavy atoms",
        prompt=f"It is drawn by RDKit as a 2D depiction on a {SIZE}×{SIZE} canvas.",
    )
    conventions = {
        "size": Convention(SIZE, "px of the square canvas", bounds=(64, 2048)),
    }
    mode = "parse"

    def setup(self) -> None:
        from rdkit import RDLogger

        RDLogger.DisableLog("rdApp.*")
        self._draw("c1ccccc1O")

    @classmethod
    def canvas_prompt(cls, conventions: dict[str, Any] | None) -> str:
        size = resolve_conventions(cls, conventions)["size"]
        return f"It is drawn by RDKit as a 2D depiction on a {size}×{size} canvas."

    def render(self, code: str, workdir: str, timeout_s: float, conventions: dict[str, Any] | None = None) -> bytes:
        return self._draw(code, resolve_conventions(type(self), conventions)["size"])

    def _draw(self, code: str, size: int = SIZE) -> bytes:
        from rdkit import Chem
        from rdkit.Chem import rdDepictor
        from rdkit.Chem.Draw import rdMolDraw2D

        smiles = code.strip()
        if not smiles:
            raise RenderError("syntax", "empty SMILES")
        if len(smiles.split()) != 1 or not (smiles.isascii() and smiles.isprintable()):
            # The whole code is the molecule: a name after it belongs to a .smi file and is stripped
            # when the file is read, and RDKit would silently ignore what follows a space.
            raise RenderError("syntax", "a SMILES is one token of printable ASCII characters")
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            raise RenderError("syntax", f"RDKit cannot parse SMILES {smiles[:80]!r}")
        if mol.GetNumHeavyAtoms() > MAX_HEAVY_ATOMS:
            raise RenderError("forbidden", f"{mol.GetNumHeavyAtoms()} heavy atoms exceed the limit of {MAX_HEAVY_ATOMS}")
        try:
            Chem.SanitizeMol(mol)
        except Exception as exc:  # noqa: BLE001 - RDKit raises valence/kekulize errors of several types
            raise RenderError("runtime", f"{type(exc).__name__}: {exc}") from None
        # Drawn from the molecule ``MolFromSmiles`` gives, as every dataset's script draws it: its
        # stereo perception and removal of explicit hydrogens change the depiction (a mirrored or
        # rotated layout, another Kekulé form) of 90 of 299 real molecules.
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise RenderError("runtime", f"RDKit cannot sanitize SMILES {smiles[:80]!r}")
        rdDepictor.SetPreferCoordGen(False)
        rdDepictor.Compute2DCoords(mol, canonOrient=True)
        drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
        drawer.drawOptions().clearBackground = True
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
        return drawer.GetDrawingText()



RENDERER = SmilesRenderer
