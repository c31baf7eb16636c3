"""``hub:ID[:CONFIG][@SPLIT]``: a Hugging Face dataset in one of its known layouts (``sources/hub``)."""
from __future__ import annotations

from typing import Any, Iterator

from ..base import RawSample
from ..hub import describe, stream
from ..hub.options import HubOptions
from ..registry import SourceKind, source_kind


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
