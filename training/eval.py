"""``vinci eval``: generate code for held-out images, render it, and score it per language.

Rows are drawn evenly across languages (the first N rows of a split are often one language), the
answer is judged whole (``training.answers``), and the default generation budget follows the
references' length instead of a fixed 2,048 tokens.
"""
from __future__ import annotations

import io
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import VinciError
from core.fences import fenced
from core.languages import EVAL_METRICS, LANGUAGES, resolve_hook

from .answers import Answer, judge
from .data import as_image, load_split, user_turn
from .folders import undecoded
from .models import load_model, load_processor, resolve
from .prompts import row_conventions
from .rewards import RewardConfig, VisualCodeReward

SPLIT_PREFERENCE = ("test", "virl", "sft")
MAX_NEW_TOKENS_CAP = 1024


class EvalError(VinciError, ValueError):
    """Bad eval input (missing split, empty selection); the message is one line for the user."""


@dataclass
class Scored:
    """One generation: the row it answers, the completion, its judged answer, its render and reward parts."""

    row: dict
    completion: str
    answer: Answer
    png: bytes | None
    error: str | None
    parts: dict


def folder_splits(data: str) -> list[str] | None:
    """Splits of a build folder (``None`` for a Hub repo id: ask the Hub when loading)."""
    folder = Path(data)
    if not folder.is_dir():
        return None
    return sorted({p.name.split("-")[0] for p in (folder / "data").glob("*.parquet")})


def pick_split(data: str, split: str | None) -> str:
    available = folder_splits(data)
    if split is None:
        if available is None:
            return SPLIT_PREFERENCE[0]
        for name in SPLIT_PREFERENCE:
            if name in available:
                return name
        raise EvalError(f"{data} has no shards under data/ (expected a vinci build folder)")
    if available is not None and split not in available:
        raise EvalError(f"{data} has no split {split!r}; it has: {', '.join(available) or 'none'}")
    return split


def pick_rows(ds, n: int | None, seed: int = 0) -> list[dict]:
    """``n`` generate rows drawn round-robin across languages (all of them when ``n`` is None)."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, (lang, task) in enumerate(zip(ds["lang"], ds["task"])):
        if task == "generate":
            by_lang[lang].append(i)
    rng = random.Random(seed)
    queues = []
    for lang in sorted(by_lang):
        idx = by_lang[lang][:]
        rng.shuffle(idx)
        queues.append(idx)
    order: list[int] = []
    while any(queues) and (n is None or len(order) < n):
        for q in queues:
            if q and (n is None or len(order) < n):
                order.append(q.pop(0))
    return [ds[i] for i in order]


def auto_max_new_tokens(tokenizer, rows: list[dict], cap: int = MAX_NEW_TOKENS_CAP) -> int:
    """A quarter more than the longest reference answer of the rows, within [64, cap]."""
    longest = max((len(tokenizer(fenced(r["lang"], r["code"]))["input_ids"]) for r in rows), default=0)
    return int(min(cap, max(64, longest * 1.25 + 16)))


def generate(model, processor, rows: list[dict], max_new_tokens: int, samples: int = 1, temperature: float = 0.0,
             progress: str | None = "generate", batch_size: int = 1) -> list[list[str]]:
    """``samples`` completions per row (greedy when ``temperature`` is 0), ``batch_size`` rows per ``generate``
    call (left-padded), with a progress bar on stderr."""
    import torch
    from tqdm import tqdm

    sampling = dict(do_sample=True, temperature=temperature, num_return_sequences=samples) if temperature > 0 else dict(do_sample=False)
    if batch_size > 1:
        processor.tokenizer.padding_side = "left"
    outputs: list[list[str]] = []
    with tqdm(total=len(rows), desc=progress, unit="row", file=sys.stderr, disable=progress is None) as bar:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            turns = [user_turn({**row, "task": "generate"}) for row in chunk]
            texts = [processor.apply_chat_template(messages, add_generation_prompt=True) for messages, _ in turns]
            images = [image for _, imgs in turns for image in imgs]
            batch = processor(text=texts, images=images, padding=True, return_tensors="pt").to(model.device)
            with torch.inference_mode():
                ids = model.generate(**batch, max_new_tokens=max_new_tokens, **sampling)
            decoded = processor.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            per_row = len(decoded) // len(chunk)
            for i in range(len(chunk)):
                texts_i = decoded[i * per_row:(i + 1) * per_row]
                outputs.append(texts_i * samples if per_row == 1 and samples > 1 else texts_i)
            bar.update(len(chunk))
    return outputs


def score(rows: list[dict], completions: list[str], reward: VisualCodeReward) -> list[Scored]:
    """Judge, render (through the reward's pool) and score one completion per row."""
    answers = [judge(c, r["lang"]) for c, r in zip(completions, rows)]
    todo = [i for i, a in enumerate(answers) if a.ok]
    jobs = [(rows[i]["lang"], answers[i].code, None, row_conventions(rows[i])) for i in todo]
    results = dict(zip(todo, reward.service.render_many(jobs)))
    pngs = [results[i].png if i in results and results[i].ok else None for i in range(len(rows))]
    parts = reward.score_rendered(pngs, [r["image"] for r in rows], [a.ok for a in answers])
    out = []
    for i, (row, completion, answer, png, p) in enumerate(zip(rows, completions, answers, pngs, parts)):
        error = answer.reason if not answer.ok else None
        if i in results and not results[i].ok:
            error = f"{results[i].error_kind}: {results[i].first_line()}"
        elif p.get("blank"):
            error = "blank: the render is near-uniform"
        out.append(Scored(row, completion, answer, png, error, p))
    return out


def ssim(target, png: bytes | None) -> float:
    if png is None:
        return 0.0
    from PIL import Image
    from skimage.metrics import structural_similarity

    a = np.asarray(target.convert("L"), dtype=np.float32)
    b = np.asarray(Image.open(io.BytesIO(png)).convert("L").resize(target.size), dtype=np.float32)
    return float(structural_similarity(a, b, data_range=255.0))


def tanimoto(reference: str, generated: str | None) -> float:
    """Tanimoto similarity of Morgan fingerprints (radius 2, 2,048 bits); 0 when either does not parse."""
    if not generated:
        return 0.0
    from rdkit import Chem, DataStructs, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    a, b = Chem.MolFromSmiles((reference.split() or [""])[0]), Chem.MolFromSmiles(generated.strip())
    if a is None or b is None:
        return 0.0
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return float(DataStructs.TanimotoSimilarity(gen.GetFingerprint(a), gen.GetFingerprint(b)))


def per_language(scored: list[Scored]) -> dict:
    metrics: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in scored:
        m = metrics[s.row["lang"]]
        m["format"].append(s.parts["format"])
        m["execution"].append(s.parts["executed"])
        m["coarse"].append(s.parts["coarse"])
        m["fine"].append(s.parts["fine"])
        m["visual"].append(s.parts["visual"])
        m["ssim"].append(ssim(as_image(s.row["image"]), s.png))
        known = LANGUAGES.get(s.row["lang"])
        for name, metric in known.eval_metrics if known else ():
            m[name].append(resolve_hook(metric)(s.row["code"], s.answer.code if s.png else None))
    return {lang: {k: float(np.mean(v)) for k, v in m.items()} | {"n": len(m["execution"])} for lang, m in sorted(metrics.items())}


def evaluate(data: str, split: str | None, model_id: str, n: int | None = None, output_dir: str = "runs/eval",
             max_new_tokens: int | None = None, reward_config: RewardConfig | None = None, service=None, seed: int = 0,
             keep_failures: str | None = None, progress: bool = True) -> dict:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = pick_split(data, split)
    reward = VisualCodeReward(reward_config or RewardConfig(), service=service)
    try:
        reward.encoder  # noqa: B018 - load the encoder first: a missing one fails before minutes of generation
        rows = pick_rows(undecoded(load_split(data, split)), n, seed)
        if not rows:
            raise EvalError(f"{data}: split {split!r} has no generate rows to evaluate")
        path = resolve(model_id, out)
        model, processor = load_model(path), load_processor(path)
        budget = max_new_tokens or auto_max_new_tokens(processor.tokenizer, rows)
        completions = [c[0] for c in generate(model, processor, rows, budget, progress="generate" if progress else None)]
        scored = score(rows, completions, reward)
    finally:
        reward.close()
    table = per_language(scored)
    (out / "metrics.json").write_text(json.dumps(table, indent=1))
    write_outputs(scored, out / "outputs.jsonl")
    sheet(scored, out / "sheet.png")
    if keep_failures:
        from .refine import write_failures

        write_failures(scored, keep_failures, model_id=model_id, data=data, split=split)
    return table


def write_outputs(scored: list[Scored], path: Path) -> None:
    with open(path, "w") as fh:
        for s in scored:
            fh.write(json.dumps({"id": s.row.get("id"), "lang": s.row["lang"], "completion": s.completion,
                                 "code": s.answer.code, "error": s.error, **s.parts}) + "\n")


def sheet_label(s: Scored) -> str:
    return f"{s.row['lang']} · visual {s.parts['visual']:.3f} · total {s.parts.get('total', 0.0):.3f}"


def sheet(scored: list[Scored], path: Path, size: int = 200, label_px: int = 18) -> None:
    """Target | generated render, one pair per line under a label (language, reward); where nothing
    rendered, a grey box that says why (the judge's reason or the renderer's error line)."""
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=12)
    step = size + label_px + 10
    canvas = Image.new("RGB", (2 * size + 10, max(1, len(scored)) * step), "white")
    draw = ImageDraw.Draw(canvas)
    for i, s in enumerate(scored):
        top = i * step
        draw.text((2, top + 2), sheet_label(s), fill=(30, 30, 30), font=font)
        target = as_image(s.row["image"]).copy()
        target.thumbnail((size, size))
        canvas.paste(target, (0, top + label_px))
        if s.png:
            generated = Image.open(io.BytesIO(s.png)).convert("RGB")
            generated.thumbnail((size, size))
            canvas.paste(generated, (size + 10, top + label_px))
        else:
            x, y = size + 10, top + label_px
            draw.rectangle([x, y, x + size - 1, y + size - 1], fill=(225, 225, 225), outline=(170, 170, 170))
            lines = textwrap.wrap(s.error or "no render", 30)[:12]
            draw.multiline_text((x + 6, y + 6), "\n".join(lines), fill=(150, 30, 30), font=font)
    canvas.save(path)


def print_table(table: dict, split: str | None = None, data: str | None = None) -> None:
    if split:
        print(f"split {split!r} of {data}: {sum(m['n'] for m in table.values())} rows")
    extra = "".join(f" {name:>9}" for name in EVAL_METRICS)
    print(f"{'lang':<8} {'n':>4} {'format':>7} {'exec':>6} {'visual':>7} {'coarse':>7} {'fine':>7} {'ssim':>6}{extra}")
    for lang, m in table.items():
        values = "".join(f" {(f'{m[name]:.3f}' if name in m else '-'):>9}" for name in EVAL_METRICS)
        print(f"{lang:<8} {m['n']:>4} {m['format']:>7.2f} {m['execution']:>6.2f} {m['visual']:>7.3f} {m['coarse']:>7.3f} "
              f"{m['fine']:>7.3f} {m['ssim']:>6.3f}{values}")
