"""Hugging Face datasets as sources: ``hub:<dataset_id>[:<config>][@<split>]``.

Each known dataset has an entry in ``registry.DATASETS`` naming its layout (``layouts.LAYOUTS``):
flat Parquet with raw image bytes (VinciCoder SFT), EasyR1 ``problem/answer/images`` (VinciCoder
RL), LLaVA JSON with images addressed by path into a folder or zip (Chart2Code, Web2Code), or
plain columns. Any other dataset works with the ``code_column``/``image_column``/``lang`` options.
Rows come from the dataset repo's files on the Hub, or from local copies with the ``data_files``
option (and ``image_root`` for path-addressed images) -- the very same code path, which is how
every layout is tested offline. A build unit reads only its own slice (see ``rows.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

from core.errors import Rejected, SourceError

from ..base import RawSample
from .code import chat_code
from .esmiles import plain_smiles
from .images import ImageRoot, image_bytes
from ..registry import check_options_of
from .layouts import LAYOUTS, Harvest, RowContext
from .options import HubOptions
from .registry import DATASETS, DatasetSpec, generic_spec
from .rows import Row, download, hub_files, local_files, read_rows

__all__ = ["DATASETS", "LAYOUTS", "chat_code", "describe", "image_bytes", "parse_spec", "pictures", "stream"]
LABEL_CONVERTERS = {"esmiles": plain_smiles}


@dataclass(frozen=True)
class HubPlan:
    """Everything resolved about one hub source before a row is read (also what ``--plan`` shows)."""

    dataset_id: str
    config: str | None
    split: str
    spec: DatasetSpec

    @property
    def layout(self) -> str:
        return self.spec.layout

    @property
    def license(self) -> str:
        return self.spec.license


def parse_spec(rest: str) -> tuple[str, str | None, str | None]:
    """``ID[:CONFIG][@SPLIT]`` → (id, config, split)."""
    body, _, split = rest.partition("@")
    dataset_id, _, config = body.partition(":")
    if not dataset_id:
        raise SourceError(f"hub source needs a dataset id: hub:{rest}")
    return dataset_id, config or None, split or None


def resolve(rest: str, code_column: str | None = None, image_column: str | None = None, lang: str | None = None,
            chat: bool | None = None, license: str | None = None, split: str | None = None, config: str | None = None,
            layout: str | None = None) -> HubPlan:
    dataset_id, spec_config, spec_split = parse_spec(rest)
    spec = DATASETS.get(dataset_id)
    if spec is None:
        if code_column is None:
            raise SourceError(f"hub:{dataset_id} has no registered layout; pass options code_column and lang "
                              f"(known datasets: {', '.join(DATASETS)})")
        spec = generic_spec(code_column, lang, image_column, bool(chat), license)
    else:
        columns = dict(spec.columns)
        if code_column:
            columns["chat" if "chat" in columns else "code" if "code" in columns else "reply"] = code_column
        if image_column:
            columns["image"] = image_column
        spec = DatasetSpec(layout or spec.layout, lang or spec.lang, license or spec.license, columns, spec.config,
                           spec.split, spec.files, spec.image_root, spec.labels, spec.benchmark, spec.render)
    if spec.layout not in LAYOUTS:
        raise SourceError(f"hub:{dataset_id}: unknown layout {spec.layout!r} (known: {', '.join(LAYOUTS)})")
    return HubPlan(dataset_id, config or spec_config or spec.config, split or spec_split or spec.split, spec)


def describe(rest: str, **options: Any) -> dict[str, Any]:
    """Dataset, config, split, layout and licence a hub source will use (for ``vinci build --plan``)."""
    plan = resolve(rest, **{k: v for k, v in options.items() if k in RESOLVE_OPTIONS})
    where = options.get("data_files") or plan.spec.hub_files(plan.dataset_id, plan.config, plan.split)
    return {"dataset": plan.dataset_id, "config": plan.config, "split": plan.split, "layout": plan.layout,
            "license": plan.license, "files": where, "benchmark": plan.spec.benchmark, "offset": options.get("offset", 0)}


RESOLVE_OPTIONS = ("code_column", "image_column", "lang", "chat", "license", "split", "config", "layout")


def stream(rest: str, seed: int = 0, start: int = 0, streaming: bool = True, data_files: Any = None,
         image_root: str | None = None, offset: int = 0, **options: Any) -> Iterator[RawSample]:
    """Raw samples of ``hub:rest`` from row ``offset + start`` on (``offset`` leaves the first rows to
    another recipe). ``streaming`` is accepted for old manifests: every read is a sliced stream now."""
    plan, rows, images = _open_rows(rest, offset + start, data_files, image_root, options)
    return _samples(rows, plan, images)


def pictures(rest: str, data_files: Any = None, image_root: str | None = None, offset: int = 0,
             **options: Any) -> Iterator[bytes]:
    """Every picture of every row, from each image column of the layout (``image`` and ``also_image*``:
    ChartMimic's input figure beside its ground truth), for decontamination."""
    plan, rows, images = _open_rows(rest, offset, data_files, image_root, options)
    columns = [c for role, c in plan.spec.columns.items() if role == "image" or role.startswith("also_image")]
    for row in rows:
        if row.error is not None:
            continue
        for column in columns:
            try:
                data = image_bytes(row.data.get(column), images)
            except Rejected:
                continue
            if data:
                yield data


def _open_rows(rest: str, start: int, data_files: Any, image_root: str | None,
               options: dict[str, Any]) -> tuple[HubPlan, Iterator[Row], ImageRoot | None]:
    check_options_of(f"hub:{rest}", HubOptions, options)  # called directly (decontamination), not through the registry
    options = {k: v for k, v in options.items() if k != "streaming"}
    plan = resolve(rest, **options)
    where = f"hub:{plan.dataset_id}" + (f" (data_files={data_files})" if data_files is not None else "")
    if data_files is not None:
        files, filesystem = local_files(data_files, plan.split), None
        root = image_root or _beside(files[0], plan.spec.image_root)
    else:
        files, filesystem = hub_files(plan.spec.hub_files(plan.dataset_id, plan.config, plan.split))
        root = image_root or (download(filesystem, f"datasets/{plan.dataset_id}/{plan.spec.image_root}")
                              if plan.spec.image_root else None)
    try:
        images = ImageRoot(root) if root else None
    except FileNotFoundError as exc:
        raise SourceError(f"{where}: {exc}") from None
    return plan, read_rows(files, start, filesystem), images


def _beside(data_file: str, image_root: str | None) -> str | None:
    """The spec's image root next to a local copy of the data file, when it is there."""
    if image_root is None:
        return None
    candidate = os.path.join(os.path.dirname(data_file), image_root)
    return candidate if os.path.exists(candidate) else None


def _samples(rows: Iterator[Row], plan: HubPlan, images: ImageRoot | None) -> Iterator[RawSample]:
    reader = LAYOUTS[plan.layout]
    required = list(plan.spec.columns.values())
    for row in rows:
        if row.error is not None:
            harvest = Harvest(plan.spec.lang, None, None, {"harvest_error": "row_too_large", "harvest_detail": row.error})
            yield _raw_sample(harvest, row.index, plan)
            continue
        missing = [c for c in required if c not in row.data]
        if missing:
            raise SourceError(f"hub:{plan.dataset_id}@{plan.split}: {row.file or 'data'} row {row.index}: column(s) "
                              f"{missing} not found; the row has columns {sorted(row.data)}. Fix its entry in "
                              "sources/hub/registry.py or pass code_column/image_column.")
        ctx = RowContext(plan.spec.columns, plan.spec.lang, row.file, images)
        try:
            harvest = reader(row.data, ctx)
        except Rejected as exc:  # an image path out of its root, a cell over its cap: this row only
            where = f"{row.file or 'data'} row {row.index}"
            harvest = Harvest(plan.spec.lang, None, None, {"harvest_error": exc.reason, "harvest_detail": f"{where}: {exc}"})
        except (RecursionError, MemoryError) as exc:  # a cell nested past a parser's stack
            where = f"{row.file or 'data'} row {row.index}"
            harvest = Harvest(plan.spec.lang, None, None, {"harvest_error": "row_unreadable",
                                                           "harvest_detail": f"{where}: {type(exc).__name__} while reading it"})
        yield _raw_sample(harvest, row.index, plan)


def _raw_sample(harvest: Harvest, index: int, plan: HubPlan) -> RawSample:
    code, meta = harvest.code, dict(harvest.meta)
    if isinstance(code, bytes):
        try:
            code = code.decode("utf-8")
        except UnicodeDecodeError:
            code = code.decode("utf-8", errors="replace")
            meta["harvest_error"], meta["harvest_detail"] = "undecodable_code", "code is not valid UTF-8"
    if code is not None and not isinstance(code, str):
        code, meta["harvest_error"] = str(code), f"code cell of type {type(code).__name__}"
    if not code:
        meta.setdefault("harvest_error", "empty code")
    elif harvest.lang is None:
        meta.setdefault("harvest_error", "unknown_language")
    elif plan.spec.labels and "harvest_error" not in meta:
        converted, reason = LABEL_CONVERTERS[plan.spec.labels](code)
        if reason:
            meta["harvest_error"], meta["source_label"] = reason, code
        else:
            code = converted
    conventions = plan.spec.render.get(harvest.lang or "")
    if conventions:
        meta["render"] = dict(conventions)
    return RawSample(lang=harvest.lang or "unknown", code=code or "", source=f"hub:{plan.dataset_id}",
                     source_ref=f"{plan.dataset_id}@{plan.split}#{index}", license=plan.license,
                     image=harvest.image, meta=meta)
