"""``vinci eval --benchmark NAME``: answers (from a model, or from a file of outputs) scored as the
benchmark scores them, written as a paper-style table, ``scores.json``, per-sample rows and a contact
sheet of the worst samples.

An outputs file is JSON Lines, one object per answer: ``{"id": "<sample id>", "completion": "<the
model's whole reply>"}`` (other keys are ignored). The reply is judged whole, as in ``vinci eval``:
exactly one fenced block in the benchmark's language. A sample without a line scores 0.
"""
from __future__ import annotations

import io
import json
import sys

from pathlib import Path

from core.atomic import write_bytes, write_json, write_text

from ..answers import judge
from .base import BenchmarkError, Sample, Scored
from .registry import get

SHEET_ROWS = 8
THUMB = 200


def read_outputs(path: str, ids: set[str]) -> dict[str, str]:
    """Completions by sample id; a malformed line, an unknown or repeated id is an error naming the line."""
    found: dict[str, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BenchmarkError(f"cannot read {path}: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)) or not isinstance(row.get("completion"), str):
            raise BenchmarkError(f'{path}:{number}: expected {{"id": ..., "completion": "..."}}')
        key = str(row["id"])
        if key not in ids:
            raise BenchmarkError(f"{path}:{number}: id {key!r} is not a sample of the benchmark data")
        if key in found:
            raise BenchmarkError(f"{path}:{number}: id {key!r} appears twice")
        found[key] = row["completion"]
    return found


def generate_completions(model_id: str, samples: list[Sample], lang: str, output_dir: Path,
                         max_new_tokens: int | None, progress: bool) -> list[str]:
    from ..eval import MAX_NEW_TOKENS_CAP, generate
    from ..models import load_model, load_processor, resolve

    path = resolve(model_id, output_dir)
    model, processor = load_model(path), load_processor(path)
    rows = [{"lang": lang, "image": s.image} for s in samples]
    return [c[0] for c in generate(model, processor, rows, max_new_tokens or MAX_NEW_TOKENS_CAP,
                                   progress="generate" if progress else None)]


def run_benchmark(name: str, data: str, output_dir: str, outputs: str | None = None, model: str | None = None,
                  n: int | None = None, max_new_tokens: int | None = None, service=None, progress: bool = True) -> dict:
    bench = get(name)
    samples = bench.load(data)[:n] if n else bench.load(data)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if outputs is not None:
        by_id = read_outputs(outputs, {s.id for s in samples})
        completions = [by_id.get(s.id, "") for s in samples]
    elif model is not None:
        completions = generate_completions(model, samples, bench.lang, out, max_new_tokens, progress)
    else:
        raise BenchmarkError("give --outputs FILE.jsonl (answers produced elsewhere) or --model ID")
    answers = [judge(c, bench.lang) for c in completions]
    own = service is None
    if own:
        from filters.render.pool import RenderService

        service = RenderService(workers=2, timeout_s=20.0)
    try:
        results = bench.score(samples, [a.code for a in answers], service)
    finally:
        if own:
            service.close()
    scored = [Scored(s, c, a.code, png, error if a.ok or metrics is None else a.reason, metrics)
              for s, c, a, (metrics, png, error) in zip(samples, completions, answers, results)]
    kept = [s for s in scored if s.metrics is not None]
    summary = bench.summary([s.metrics for s in kept])
    report = {"benchmark": bench.name, "title": bench.title, "data": data, "n": len(kept),
              "left_out": {s.sample.id: s.error for s in scored if s.metrics is None},
              "answers": outputs or model, "scores": summary, "not_computed": bench.not_computed}
    write_json(out / "scores.json", report)
    write_text(out / "samples.jsonl", "".join(json.dumps(sample_row(s)) + "\n" for s in scored))
    write_text(out / "table.md", table_markdown(bench, summary))
    write_bytes(out / "worst.png", worst_sheet(bench, kept))
    return report


def sample_row(s: Scored) -> dict:
    return {"id": s.sample.id, "completion": s.completion, "code": s.code, "error": s.error,
            **{k: round(v, 6) for k, v in (s.metrics or {}).items()}}


def table_markdown(bench, summary: dict[str, float], not_computed: dict[str, str] | None = None) -> str:
    """One row, the paper's columns; metrics that need a judge (or weights this machine lacks) are shown
    as not computed (``not_computed``: those of the run, when they depend on the machine)."""
    not_computed = bench.not_computed if not_computed is None else not_computed
    columns = [c for c in bench.columns if c.title in summary]
    titles = [c.title for c in columns] + list(not_computed)
    cells = [f"{summary[c.title]:.1f}" for c in columns] + ["n/c" for _ in not_computed]
    lines = [f"**{bench.title}**", "", "| " + " | ".join(titles) + " |", "|" + "---:|" * len(titles),
             "| " + " | ".join(cells) + " |"]
    lines += [f"\nn/c ({k}): not computed, {why}." for k, why in not_computed.items()]
    return "\n".join(lines) + "\n"


def print_table(bench_name: str, report: dict) -> None:
    bench = get(bench_name)
    print(table_markdown(bench, report["scores"], report["not_computed"]), end="")
    left = report["left_out"]
    print(f"{report['n']} samples" + (f"; {len(left)} left out (reference fails): {', '.join(sorted(left)[:5])}" if left else ""),
          file=sys.stderr)


def worst_sheet(bench, scored: list[Scored], rows: int = SHEET_ROWS) -> bytes:
    """Target | the answer's render | its scores, for the samples lowest on the benchmark's primary metric."""
    from PIL import Image, ImageDraw

    from core.bounded import open_image
    from core.errors import Rejected

    key = bench.columns[-1].key
    worst = sorted(scored, key=lambda s: (s.metrics.get(key, 0.0), s.sample.id))[:rows]
    canvas = Image.new("RGB", (3 * THUMB + 20, max(1, len(worst)) * (THUMB + 10)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, s in enumerate(worst):
        top = i * (THUMB + 10)
        for col, png in enumerate((s.sample.image, s.png)):
            try:  # the benchmark's own picture is data from a download: bounded, known formats only
                picture = open_image(png).convert("RGB") if png else None
            except Rejected:
                picture = None
            picture = picture or Image.new("RGB", (THUMB, THUMB), (200, 200, 200))
            picture.thumbnail((THUMB, THUMB))
            canvas.paste(picture, (col * (THUMB + 10), top))
        text = [s.sample.id[:28]] + [f"{c.title}: {100 * s.metrics.get(c.key, 0.0):.1f}" for c in bench.columns]
        if s.error:
            text.append(s.error[:28])
        draw.multiline_text((2 * (THUMB + 10), top + 4), "\n".join(text), fill="black")
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()



