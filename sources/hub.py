"""Hugging Face datasets as sources: ``hub:<dataset_id>[:<config>][@<split>]``.

Rows are read with ``datasets`` (streaming by default) and mapped to raw samples by a column map
registered per known dataset; any other dataset works with the ``code_column``/``image_column``/
``lang`` options. Local files in a dataset's format go through the very same code path with the
``data_files`` option (that is how the maps are tested offline).
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from itertools import islice
from typing import Any, Iterator

from .base import RawSample, SourceError

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
FENCE_LANGS = {"python": "python", "py": "python", "python3": "python", "html": "html", "htm": "html", "svg": "svg",
               "xml": "svg", "latex": "latex", "tex": "latex", "tikz": "latex", "smiles": "smiles", "smi": "smiles"}


@dataclass(frozen=True)
class ColumnMap:
    """Where a dataset keeps its code, image and language.

    ``chat=True``: ``code`` names a list of chat turns; the code is the last fenced block of the
    last assistant turn and the language comes from the fence unless ``lang`` fixes it.
    """

    code: str
    lang: str | None
    image: str | None = None
    chat: bool = False
    license: str = "see the dataset card"
    default_split: str = "train"


# Columns as published on the Hub. Where a card could not be checked offline the map is still the
# one place to fix: a missing column fails with the names of the columns that were found.
COLUMN_MAPS: dict[str, ColumnMap] = {
    "DocTron-Hub/VinciCoder-1.6M-SFT": ColumnMap("messages", None, image="images", chat=True, license="apache-2.0"),
    "DocTron-Hub/VinciCoder-42k-RL": ColumnMap("messages", None, image="images", chat=True, license="apache-2.0"),
    "xxxllz/Chart2Code-160k": ColumnMap("code", "python", image="image", license="apache-2.0"),
    "ChartMimic/ChartMimic": ColumnMap("code", "python", image="image", license="apache-2.0", default_split="test"),
    "HuggingFaceM4/WebSight": ColumnMap("text", "html", image="image", license="cc-by-4.0"),
    "MBZUAI/Web2Code": ColumnMap("conversations", "html", image="image", chat=True, license="cc-by-4.0"),
    "starvector/svg-stack": ColumnMap("Svg", "svg", license="see the dataset card (per-file licences)"),
    "nllg/datikz": ColumnMap("code", "latex", image="image", license="see the dataset card (per-row licences)"),
    "UniParser/MolParser-7M": ColumnMap("SMILES", "smiles", image="image", license="see the dataset card"),
    "yuntian-deng/im2smiles-20k": ColumnMap("formula", "smiles", image="image", license="see the dataset card"),
}
CHAT_ROLE_KEYS = ("role", "from")
CHAT_TEXT_KEYS = ("content", "value", "text")
ASSISTANT_ROLES = ("assistant", "gpt", "model")


def parse_spec(rest: str) -> tuple[str, str | None, str | None]:
    """``ID[:CONFIG][@SPLIT]`` → (id, config, split)."""
    body, _, split = rest.partition("@")
    dataset_id, _, config = body.partition(":")
    if not dataset_id:
        raise SourceError(f"hub source needs a dataset id: hub:{rest}")
    return dataset_id, config or None, split or None


def last_fenced_block(text: str) -> tuple[str | None, str | None]:
    """The language tag and body of the last fenced code block in ``text``."""
    blocks = FENCE.findall(text or "")
    if not blocks:
        return None, None
    tag, body = blocks[-1]
    return FENCE_LANGS.get(tag.lower()), body.strip("\n")


def chat_code(turns: Any) -> tuple[str | None, str | None]:
    if isinstance(turns, str):
        try:
            turns = json.loads(turns)
        except json.JSONDecodeError:
            return last_fenced_block(turns)
    replies = []
    for turn in turns or []:
        role = next((turn[k] for k in CHAT_ROLE_KEYS if k in turn), None)
        text = next((turn[k] for k in CHAT_TEXT_KEYS if k in turn), None)
        if isinstance(text, list):
            text = "\n".join(part.get("text", "") for part in text if isinstance(part, dict))
        if role in ASSISTANT_ROLES and isinstance(text, str):
            replies.append(text)
    for reply in reversed(replies):
        lang, code = last_fenced_block(reply)
        if code is not None:
            return lang, code
    return None, None


def image_bytes(value: Any) -> bytes | None:
    """PNG/JPEG bytes from what ``datasets`` yields for an image cell (undecoded dict, PIL, list)."""
    if value is None:
        return None
    if isinstance(value, list):
        return image_bytes(value[0]) if value else None
    if isinstance(value, dict):
        return value.get("bytes")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if hasattr(value, "save"):
        out = io.BytesIO()
        value.save(out, format="PNG")
        return out.getvalue()
    return None


def load_rows(dataset_id: str, config: str | None, split: str, streaming: bool, data_files: Any = None):
    import datasets

    if data_files is not None:
        files = data_files if isinstance(data_files, (list, dict)) else [data_files]
        first = files[0] if isinstance(files, list) else next(iter(files.values()))
        first = first[0] if isinstance(first, list) else first
        builder = "parquet" if str(first).endswith(".parquet") else "json" if str(first).endswith((".json", ".jsonl")) else "csv"
        return datasets.load_dataset(builder, data_files=data_files, split=split, streaming=streaming)
    return datasets.load_dataset(dataset_id, config, split=split, streaming=streaming)


def undecoded_images(ds, column: str | None):
    """Ask ``datasets`` for raw image bytes instead of PIL objects (no decode, no re-encode)."""
    import datasets

    if column is None or ds.features is None or column not in ds.features:
        return ds
    feature = ds.features[column]
    if isinstance(feature, datasets.Image):
        return ds.cast_column(column, datasets.Image(decode=False))
    if isinstance(feature, (list, datasets.Sequence)) and isinstance(getattr(feature, "feature", feature[0] if isinstance(feature, list) else None), datasets.Image):
        return ds.cast_column(column, datasets.Sequence(datasets.Image(decode=False)))
    return ds


def open(rest: str, seed: int = 0, start: int = 0, streaming: bool = True, data_files: Any = None,
         code_column: str | None = None, image_column: str | None = None, lang: str | None = None,
         chat: bool | None = None, license: str | None = None, split: str | None = None) -> Iterator[RawSample]:
    dataset_id, config, spec_split = parse_spec(rest)
    known = COLUMN_MAPS.get(dataset_id)
    if known is None and code_column is None:
        raise SourceError(f"hub:{dataset_id} has no registered column map; pass options code_column and lang "
                          f"(known datasets: {', '.join(COLUMN_MAPS)})")
    base = known or ColumnMap(code_column, lang)
    cmap = ColumnMap(code=code_column or base.code, lang=lang or base.lang, image=image_column or base.image,
                     chat=base.chat if chat is None else chat, license=license or base.license, default_split=base.default_split)
    split = split or spec_split or cmap.default_split
    where = f"hub:{dataset_id}" + (f" (data_files={data_files})" if data_files is not None else "")
    try:
        ds = load_rows(dataset_id, config, split, streaming, data_files)
        ds = undecoded_images(ds, cmap.image)
    except Exception as exc:  # noqa: BLE001 - datasets/pyarrow raise many types for unreadable input
        raise SourceError(f"{where}: cannot load split {split!r}: {type(exc).__name__}: {exc}") from exc
    return _rows(ds, dataset_id, split, cmap, start, where)


def _rows(ds, dataset_id: str, split: str, cmap: ColumnMap, start: int, where: str) -> Iterator[RawSample]:
    rows = iter(islice(iter(ds), start, None))
    index = start - 1
    while True:
        index += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - a corrupt file surfaces while streaming
            raise SourceError(f"{where}: cannot read row {index}: {type(exc).__name__}: {exc}") from exc
        yield from _sample(row, index, dataset_id, split, cmap)


def _sample(row: dict, index: int, dataset_id: str, split: str, cmap: ColumnMap) -> Iterator[RawSample]:
    missing = [c for c in (cmap.code, cmap.image) if c and c not in row]
    if missing:
        raise SourceError(f"hub:{dataset_id}@{split}: column(s) {missing} not found; the dataset has columns "
                          f"{sorted(row)}. Fix its map in sources/hub.py or pass code_column/image_column.")
    ref = f"{dataset_id}@{split}#{index}"
    raw = row.get(cmap.code)
    meta: dict[str, Any] = {}
    if cmap.chat:
        fence_lang, code = chat_code(raw)
        sample_lang = cmap.lang or fence_lang
        if code is None:
            meta["harvest_error"] = "no fenced code block in the assistant turn"
    else:
        code, sample_lang = raw, cmap.lang
    if isinstance(code, bytes):
        try:
            code = code.decode("utf-8")
        except UnicodeDecodeError:
            code, meta["harvest_error"] = code.decode("utf-8", errors="replace"), "code is not valid UTF-8"
    if code is not None and not isinstance(code, str):
        code, meta["harvest_error"] = str(code), f"code cell of type {type(code).__name__}"
    if not code:
        meta.setdefault("harvest_error", "empty code")
    yield RawSample(lang=sample_lang or "unknown", code=code or "", source=f"hub:{dataset_id}", source_ref=ref,
                    license=cmap.license, image=image_bytes(row.get(cmap.image)) if cmap.image else None, meta=meta)
