"""Manifests: everything a build needs, validated on load with errors that name the field."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import Field, field_validator, model_validator

from core.errors import VinciError
from core.inputs import InputError, read_utf8
from core.validation import Strict, validate
from filters.quality import MAX_DOMINANT_SHARE, MIN_STD


PositiveInt = Annotated[int, Field(gt=0)]


class SourceEntry(Strict):
    """``render``: per language, render conventions (``filters/render``'s ``conventions``) that override
    those the source names for its dataset (``sources/hub/registry.py``): ``{html: {viewport_width: 1280}}``."""

    source: str
    n: int = Field(gt=0)
    options: dict[str, Any] = Field(default_factory=dict)
    render: dict[str, dict[str, Any]] = Field(default_factory=dict)
    why: str | None = None

    @field_validator("render")
    @classmethod
    def _known_conventions(cls, render: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from core.languages import LANGS
        from filters.render.base import renderer_class, resolve_conventions

        for lang, conventions in render.items():
            if lang not in LANGS:
                raise ValueError(f"render: unknown language {lang!r}; known: {', '.join(LANGS)}")
            resolve_conventions(renderer_class(lang), conventions)
        return render

    def conventions_for(self, lang: str, named: dict[str, Any] | None) -> dict[str, Any] | None:
        """A sample's conventions: those its source named, overridden by this entry's ``render``."""
        merged = {**(named or {}), **self.render.get(lang, {})}
        return merged or None

    def quota(self, limit: int | None = None) -> int:
        """Rows taken from this source, capped by ``--limit``."""
        return min(self.n, limit) if limit else self.n


class RenderConfig(Strict):
    """``workers``: render workers per language on this machine (``--render-workers`` overrides it);
    units in flight are ``--workers``, a separate knob."""

    timeout_s: float = Field(10.0, gt=0)
    workers: Union[PositiveInt, Literal["auto"]] = "auto"


class QualityConfig(Strict):
    min_code_chars: int = 20
    max_code_chars: int = 20000
    min_side: int = 32
    max_pixels: int = 4096 * 4096
    max_aspect: float = 8.0
    min_std: float = MIN_STD
    max_dominant_share: float = MAX_DOMINANT_SHARE


class HeldOut(Strict):
    """A decontamination target with source options (``data_files`` of a local copy, say)."""

    source: str
    options: dict[str, Any] = Field(default_factory=dict)


class DedupConfig(Strict):
    phash_radius: int = Field(4, ge=0, le=32)
    against: list[Union[str, HeldOut]] = Field(default_factory=list)

    def targets(self) -> list[tuple[str, dict[str, Any]]]:
        """(source spec or folder, options) of every decontamination target."""
        return [(t, {}) if isinstance(t, str) else (t.source, t.options) for t in self.against]


class LicensePolicy(Strict):
    """Licences a build accepts: ``allow`` (only these) or ``deny`` (all but these), not both."""

    allow: list[str] | None = None
    deny: list[str] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "LicensePolicy":
        if (self.allow is None) == (self.deny is None):
            raise ValueError("give exactly one of allow or deny")
        return self


class PerturbConfig(Strict):
    per_row: float = Field(0.0, ge=0)
    error_share: float = Field(0.2, ge=0, le=1)
    min_distance: float = Field(1.0, ge=0)
    max_distance: float = Field(40.0, ge=0)
    max_kinds: int = Field(2, ge=1, le=3)
    kinds: list[str] | None = None
    weights: dict[str, float] = Field(default_factory=dict)


class RayConfig(Strict):
    """Resources of the Ray executor; they decide where units run, never which rows come out.
    ``actor_cpus`` unset: what the actor's render workers declare (``filters.render.base.render_cpus``)."""

    actors: Union[PositiveInt, Literal["auto"]] = "auto"
    actor_cpus: float | None = Field(None, gt=0)
    actor_memory_mb: int | None = Field(None, gt=0)
    workers_per_language: Union[PositiveInt, dict[str, PositiveInt]] = 1


class Splits(Strict):
    virl: int = Field(0, ge=0)
    test: int = Field(0, ge=0)
    sft: Union[int, Literal["rest"]] = "rest"


class Manifest(Strict):
    name: str
    seed: int = 0
    description: str | None = None
    sources: list[SourceEntry] = Field(min_length=1)
    render: RenderConfig = Field(default_factory=RenderConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    perturb: PerturbConfig = Field(default_factory=PerturbConfig)
    splits: Splits = Field(default_factory=Splits)
    shard_rows: int = Field(5000, gt=0)
    unit_rows: int = Field(250, gt=0)
    ray: RayConfig = Field(default_factory=RayConfig)
    retries: int = Field(2, ge=0)
    licenses: LicensePolicy | None = None

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, entries: list[SourceEntry]) -> list[SourceEntry]:
        from core.errors import SourceError
        from sources.registry import resolve_source

        for i, entry in enumerate(entries):
            try:
                resolve_source(entry.source, entry.options)
            except SourceError as exc:
                where = f"sources.{i}" if str(exc).startswith("unknown source spec") else f"sources.{i}.options"
                raise ValueError(f"{where}: {exc}") from None
        return entries

    def fingerprint(self) -> str:
        """Hash of everything that changes rows; a build folder refuses another fingerprint."""
        data = self.model_dump(mode="json")
        data.pop("description", None)
        data.pop("ray", None)
        if not data["dedup"]["against"]:
            data["dedup"].pop("against")
        if data["licenses"] is None:
            data.pop("licenses")
        for entry in data["sources"]:
            entry.pop("why", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class ManifestError(VinciError, ValueError):
    exit_code = 2


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        data = yaml.safe_load(read_utf8(path))
    except InputError as exc:
        raise ManifestError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: invalid manifest: expected a mapping of fields ({', '.join(Manifest.model_fields)})")
    return validate(Manifest, data, str(path), ManifestError, what="invalid manifest: ")
