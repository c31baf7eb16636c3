"""Decontamination: drop every row that is (nearly) a picture or the code of a held-out set.

``dedup: {against: [TARGET, ...]}`` names what a corpus must not contain: an evaluation benchmark
(``hub:ChartMimic/ChartMimic@test``, any source spec), a folder of images, or another build's
folder (its ``data/*.parquet``). A row is contaminated when its render is within the pHash radius
of any target picture, or its normalised code is a target's normalised code (the same key that
gives rows their ids). The targets are fingerprinted once per build, in the driver.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from core.errors import VinciError
from core.markup import md_code
from core.steps import Filter
from core.verdicts import KEEP, Drop, Verdict

from .dedup import near_pairs, normalize_code

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


class DecontaminationError(VinciError, ValueError):
    """A target cannot be read; the message names it."""


@dataclass
class Reference:
    """Fingerprints of the held-out material: 64-bit pHashes and code ids, with a count per target."""

    hashes: list[int] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, target: str, phash: str | None = None, code_id: str | None = None, new_item: bool = True) -> None:
        """Record one held-out item (or, ``new_item=False``, another picture of the last one)."""
        if phash:
            self.hashes.append(int(phash, 16))
        if code_id:
            self.ids.add(code_id)
        self.counts[target] = self.counts.get(target, 0) + int(new_item)


def load_reference(targets: Sequence[tuple[str, dict]], seed: int = 0) -> Reference:
    """Fingerprint each ``(target, source options)``: a build folder, a folder of images, or a source spec."""
    ref = Reference()
    for target, options in targets:
        before = len(ref.hashes) + len(ref.ids)
        path = Path(target)
        if path.is_dir() and any((path / "data").glob("*.parquet")):
            _add_build(ref, target, path)
        elif path.is_dir():
            _add_images(ref, target, path)
        else:
            _add_source(ref, target, options, seed)
        if len(ref.hashes) + len(ref.ids) == before:
            raise DecontaminationError(f"dedup.against {target!r}: found no image or code to hold out")
    return ref


def contaminated(ids: Sequence[str], hashes: np.ndarray, ref: Reference, radius: int) -> np.ndarray:
    """Boolean mask of the rows that match the reference by code id or by pHash within ``radius``."""
    hit = np.array([rid in ref.ids for rid in ids], dtype=bool)
    if ref.hashes and len(hashes):
        held = np.array(ref.hashes, dtype=np.uint64)
        pairs = near_pairs(np.concatenate([held, np.asarray(hashes, dtype=np.uint64)]), radius)
        n = len(held)
        cross = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
        hit[cross[:, 1] - n] = True
    return hit


class Decontaminate(Filter):
    """The ``decontaminate`` global filter: drops the rows that ``contaminated`` finds in ``dedup.against``.
    Without targets it lets every row through uncounted; ``setup`` fingerprints the targets once."""

    name = "decontaminate"

    def __init__(self, targets: Sequence[tuple[str, dict]], radius: int, seed: int = 0) -> None:
        self.targets, self.radius, self.seed = list(targets), radius, seed
        self.reference: Reference | None = None

    @classmethod
    def from_manifest(cls, manifest) -> "Decontaminate":
        return cls(manifest.dedup.targets(), manifest.dedup.phash_radius, manifest.seed)

    def setup(self, service=None) -> None:
        super().setup(service)
        if self.targets and self.reference is None:
            self.reference = load_reference(self.targets, self.seed)

    def __call__(self, work) -> None:
        if not self.targets:
            return
        if self.reference is None:
            raise RuntimeError("Decontaminate.setup() must run before the rows")
        for target, n in self.reference.counts.items():
            work.stats.add(self.name, "all", f"reference:{target}", n)
        super().__call__(work)

    def verdicts(self, rows) -> list[Verdict]:
        hashes = np.array([r.phash for r in rows], dtype=np.uint64)
        hit = contaminated([r.id for r in rows], hashes, self.reference, self.radius)
        why = f"within {self.radius} pHash bits of, or the same code as, a picture of dedup.against"
        return [Drop("contaminated", why) if h else KEEP for h in hit]


def code_id(lang: str, code: str) -> str:
    from core.records import record_id

    return record_id(lang, normalize_code(lang, code))


def _add_build(ref: Reference, target: str, folder: Path) -> None:
    import pyarrow.parquet as pq

    for shard in sorted((folder / "data").glob("*.parquet")):
        for row in pq.read_table(shard, columns=["lang", "code", "phash"]).to_pylist():
            ref.add(target, row["phash"] or None, code_id(row["lang"], row["code"]) if row["code"] else None)


def _add_images(ref: Reference, target: str, folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_SUFFIXES):
                ref.add(target, _phash_or_none(Path(root, name).read_bytes()))


def _add_source(ref: Reference, target: str, options: dict, seed: int) -> None:
    from core.errors import SourceError
    from sources.base import SYNTHETIC, open_source

    if target in SYNTHETIC:
        raise DecontaminationError(f"dedup.against {target!r}: a procedural source never ends; name a dataset or folder")
    try:
        samples: Iterable = open_source(target, seed=seed, options=options)
        hub = target.startswith("hub:")
        for sample in samples:
            known = sample.code and sample.lang != "unknown" and not sample.meta.get("harvest_error")
            ref.add(target, _phash_or_none(sample.image) if sample.image and not hub else None,
                    code_id(sample.lang, sample.code) if known else None)
        if hub:
            from sources.hub import pictures

            for data in pictures(target.removeprefix("hub:"), **options):
                ref.add(target, _phash_or_none(data), new_item=False)
    except (SourceError, ValueError) as exc:
        raise DecontaminationError(f"dedup.against {target!r}: {exc}") from exc


def _phash_or_none(data: bytes) -> str | None:
    from PIL import UnidentifiedImageError

    from core.bounded import open_image

    from .dedup import phash_of

    try:
        return phash_of(open_image(data))
    except (UnidentifiedImageError, OSError, ValueError):  # Rejected is a ValueError
        return None


def card_section(targets: Sequence[tuple[str, dict]], stats) -> str:
    """The dataset card's account of decontamination, from the build's counters."""
    if not targets:
        return ""
    held = ", ".join(f"{md_code(t)} ({stats.count('decontaminate', 'all', f'reference:{t}'):,} items)" for t, _ in targets)
    dropped = stats.drops()[("decontaminate", "contaminated")]
    return (f"## Decontamination\n\nHeld out: {held}. {dropped:,} rows were dropped as `contaminated` (a render within the "
            "pHash radius of a held-out picture, or the same normalised code).\n\n")
