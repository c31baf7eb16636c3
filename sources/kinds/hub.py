"""``hub:ID[:CONFIG][@SPLIT]``: a Hugging Face dataset in one of its known layouts (``sources/hub``)."""
from __future__ import annotations

from typing import Any, Iterator

from pydantic import Field

from ..base import RawSample
from ..hub import describe, stream
from ..registry import SourceKind, SourceOptions, source_kind


class HubOptions(SourceOptions):
    """``data_files``/``image_root``: a local copy instead of the Hub's files; ``offset``: rows left to
    another recipe; the rest override the dataset's registry entry (or describe an unregistered one)."""

    streaming: bool = True  # accepted for old manifests: every read is a sliced stream
    data_files: Any = None
    image_root: str | None = None
    offset: int = Field(0, ge=0)
    code_column: str | None = None
    image_column: str | None = None
    lang: str | None = None
    chat: bool | None = None
    license: str | None = None
    split: str | None = None
    config: str | None = None
    layout: str | None = None


@source_kind
class Hub(SourceKind):
    prefix = "hub"
    usage = "hub:<dataset_id>"
    Options = HubOptions

    def given(self) -> dict[str, Any]:
        return self.options.model_dump(exclude_unset=True)

    def open(self, seed: int = 0, start: int = 0) -> Iterator[RawSample]:
        return stream(self.rest, seed=seed, start=start, **self.given())

    def details(self) -> str:
        d = describe(self.rest, **self.given())
        role = (f", from row {d['offset']:,}" if d["offset"] else "") + ("  [evaluation benchmark]" if d["benchmark"] else "")
        return (f"{d['dataset']}: config {d['config'] or '-'}, split {d['split']}, layout {d['layout']}, "
                f"licence {d['license']}, files {d['files']}{role}")
