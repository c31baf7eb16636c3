"""ChartMimic, Direct Mimic: chart image -> matplotlib script, scored by its low-level metrics.

Data (``--data``): the repository's evaluation folder (``direct_600/``, ``ori_500/`` ...: one
``NAME.py`` ground-truth script beside its ``NAME.png``), or the Hub's Parquet/JSONL rows (config
``chartmimic``, split ``test``: ``ExampleID``, ``Task``, ``InputFigurePreview``, ``GroundTruthFigureCode``,
``GroundTruthFigurePreview``; Direct Mimic rows only).

Metrics, per pair, from one traced sandboxed run of each script (``filters.render.chart_trace``):

* text F1: drawn strings (tick labels removed) matched as multisets;
* layout F1: grid geometry and span of every axes, matched as multisets (for a ``graph`` chart the
  official evaluator gives every axes one fixed cell: only their number counts);
* chart-type F1: calls per plotting function, matched as ``min`` of counts;
* colour F1: per drawing function, the best one-to-one pairing of colours by CIEDE2000 similarity,
  summed, over the number of colours of each side (precision, recall).

The low-level score is the mean of the four F1s (x 100). The high-level score is a GPT-4o judge's:
not computed. Where both sides trace nothing for a metric the official code returns 0 (text, layout)
or fails (colour); here the pair scores 1, so an identical answer always scores the maximum.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import ClassVar, Sequence

from core.errors import VinciError

from .base import BenchmarkError, Column, Sample, f1, image_bytes, mean_percent
from .colors import color_total, filter_similar

TRACE = "chartmimic"
MAX_LIST = 2000


class TraceError(VinciError, ValueError):
    """A trace that is not the shape the tracer writes (it came from an untrusted process)."""


HEX = frozenset("0123456789abcdefABCDEF")


def _colour_value(value: str) -> bool:
    """What the tracer writes after ``--``: ``#RRGGBB`` or ``#RRGGBBAA`` (the colour metric reads its hex
    digits), or a colormap's name (compared as text)."""
    return not value.startswith("#") or (len(value) in (7, 9) and set(value[1:]) <= HEX)


def _strings(value, what: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_LIST or not all(isinstance(v, str) and len(v) <= 300 for v in value):
        raise TraceError(f"{what} is not a bounded list of strings")
    return value


def parse_trace(text: str | None) -> dict:
    """The four traces of one run, validated: texts, colours (``group--colour``), layout cells,
    chart-type counts."""
    if text is None:
        raise TraceError("no trace")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:  # nesting past the decoder's stack, an integer of 5,000 digits
        raise TraceError(f"trace is not JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(raw, dict):
        raise TraceError("trace is not an object")
    texts, colors = _strings(raw.get("texts"), "texts"), _strings(raw.get("colors"), "colors")
    layout = raw.get("layout")
    if not isinstance(layout, list) or len(layout) > MAX_LIST or not all(
            isinstance(c, list) and len(c) == 6 and all(isinstance(v, int) for v in c) for c in layout):
        raise TraceError("layout is not a list of six-integer cells")
    types = raw.get("types")
    if not isinstance(types, dict) or len(types) > MAX_LIST or not all(
            isinstance(k, str) and isinstance(v, int) and 0 < v for k, v in types.items()):
        raise TraceError("types is not a map of call counts")
    if any("--" not in c for c in colors):
        raise TraceError("a colour lacks its drawing function")
    if not all(_colour_value(c.split("--", 1)[1]) for c in colors):
        raise TraceError("a colour is neither #RRGGBB[AA] nor a colormap's name")
    axes = raw.get("axes")
    if not isinstance(axes, int) or not 0 <= axes <= MAX_LIST:
        raise TraceError("axes is not a count")
    return {"texts": texts, "colors": colors, "layout": [tuple(c) for c in layout], "axes": axes, "types": types}


GRAPH_CELL = (1, 1, 0, 1, 0, 1)


def graph_layout(trace: dict) -> dict:
    """The official layout evaluator gives every axes of a graph chart (a file under ``graph``) the same
    fixed cell, whatever its grid: only the number of axes counts."""
    return {**trace, "layout": [GRAPH_CELL] * trace["axes"]}


def multiset_f1(generated: list, golden: list) -> float:
    """Each golden item matches at most one equal generated item."""
    if not generated and not golden:
        return 1.0
    if not generated or not golden:
        return 0.0
    matched = sum((Counter(generated) & Counter(golden)).values())
    return f1(matched / len(generated), matched / len(golden))


def type_f1(generated: dict[str, int], golden: dict[str, int]) -> float:
    if not generated and not golden:
        return 1.0
    if not generated or not golden:
        return 0.0
    matched = sum(min(n, golden.get(k, 0)) for k, n in generated.items())
    return f1(matched / sum(generated.values()), matched / sum(golden.values()))


def color_f1(generated: list[str], golden: list[str], solver=None) -> float:
    generated, golden = filter_similar(sorted(generated)), filter_similar(sorted(golden))
    if not generated and not golden:
        return 1.0
    if not generated or not golden:
        return 0.0
    total = color_total(generated, golden) if solver is None else color_total(generated, golden, solver)
    return f1(total / len(generated), total / len(golden))


def low_level(generated: dict, golden: dict) -> dict[str, float]:
    """The four F1 scores of a traced pair."""
    return {"text": multiset_f1(generated["texts"], golden["texts"]),
            "layout": multiset_f1(generated["layout"], golden["layout"]),
            "type": type_f1(generated["types"], golden["types"]),
            "color": color_f1(generated["colors"], golden["colors"])}


class ChartMimic:
    name: ClassVar[str] = "chartmimic"
    title: ClassVar[str] = "ChartMimic (Direct Mimic), low-level"
    lang: ClassVar[str] = "python"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("executed", "Exec.Rate"), Column("text", "Text"), Column("layout", "Layout"),
        Column("type", "Type"), Column("color", "Color"), Column("low_level", "Low-Level"))
    not_computed: ClassVar[dict[str, str]] = {"High-Level": "needs a GPT-4o judge"}
    layout: ClassVar[str] = "folder of NAME.py + NAME.png (the repository's dataset/direct_600/), or Parquet/JSONL " \
                            "with GroundTruthFigureCode + GroundTruthFigurePreview"

    def load(self, data: str) -> list[Sample]:
        path = Path(data)
        if path.is_dir():
            return self._load_folder(path)
        if path.suffix in (".parquet", ".jsonl", ".json"):
            return self._load_table(path)
        raise BenchmarkError(f"{data}: expected ChartMimic's folder of NAME.py + NAME.png, or a .parquet/.jsonl file")

    @staticmethod
    def _load_folder(folder: Path) -> list[Sample]:
        samples = []
        for script in sorted(folder.glob("*.py")):
            picture = script.with_suffix(".png")
            if not picture.is_file():
                raise BenchmarkError(f"{script}: no {picture.name} beside it (the target picture)")
            samples.append(Sample(script.stem, picture.read_bytes(), script.read_text(encoding="utf-8")))
        if not samples:
            raise BenchmarkError(f"{folder}: no NAME.py ground-truth scripts")
        return samples

    @staticmethod
    def _load_table(path: Path) -> list[Sample]:
        """Hub rows (``ExampleID``, ``Task``, ``InputFigurePreview``, ``GroundTruthFigureCode``,
        ``GroundTruthFigurePreview``): Direct Mimic rows only when ``Task`` is there; the model's input
        picture is ``InputFigurePreview`` when present."""
        import pandas as pd

        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_json(path, lines=path.suffix == ".jsonl")
        for column in ("GroundTruthFigureCode", "GroundTruthFigurePreview"):
            if column not in frame.columns:
                raise BenchmarkError(f"{path}: no column {column!r}; it has: {', '.join(map(str, frame.columns))}")
        picture_column = "InputFigurePreview" if "InputFigurePreview" in frame.columns else "GroundTruthFigurePreview"
        samples = []
        for i, row in enumerate(frame.to_dict("records")):
            if "Task" in row and "direct" not in str(row["Task"]).lower():
                continue
            try:
                picture = image_bytes(row[picture_column])
            except ValueError:
                raise BenchmarkError(f"{path}: row {i}: {picture_column} holds no image bytes") from None
            samples.append(Sample(str(row.get("ExampleID", i)), picture, str(row["GroundTruthFigureCode"])))
        if not samples:
            raise BenchmarkError(f"{path}: no Direct Mimic rows")
        return samples

    def score(self, samples: Sequence[Sample], codes: Sequence[str | None], service):
        """Trace every answer and every ground truth in the sandbox (one run each), then compare."""
        todo = [i for i, c in enumerate(codes) if c is not None]
        runs = service.render_many([("python", codes[i]) for i in todo] + [("python", s.reference) for s in samples],
                                   trace=TRACE)
        answers = dict(zip(todo, runs[:len(todo)]))
        goldens = runs[len(todo):]
        out = []
        for i, sample in enumerate(samples):
            zero = {c.key: 0.0 for c in self.columns}
            gold = goldens[i]
            try:
                if not gold.ok:
                    raise TraceError(f"{gold.error_kind}: {gold.first_line()}")
                golden = parse_trace(gold.trace)
            except TraceError as exc:
                out.append((None, None, f"reference: the ground-truth script fails in the sandbox ({exc})"))
                continue
            result = answers.get(i)
            if result is None:
                out.append((zero, None, "no acceptable answer"))
                continue
            if not result.ok:
                out.append((zero, None, f"{result.error_kind}: {result.first_line()}"))
                continue
            try:
                traced = parse_trace(result.trace)
            except TraceError as exc:
                out.append((zero, result.png, f"trace: {exc}"))
                continue
            if sample.id.startswith("graph"):
                traced, golden = graph_layout(traced), graph_layout(golden)
            metrics = low_level(traced, golden)
            metrics["low_level"] = sum(metrics.values()) / 4
            metrics["executed"] = 1.0
            out.append((metrics, result.png, None))
        return out

    def summary(self, rows: list[dict]) -> dict[str, float]:
        return {c.title: mean_percent(rows, c.key) for c in self.columns}

