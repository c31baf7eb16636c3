"""Plots and contact sheets of a build folder (``DIR/report/``, ``vinci inspect``)."""
from __future__ import annotations

import io
import json
import random
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

THUMB = 220
CODE_LINES = 14


def _rows(folder: Path, split: str):
    for shard in sorted((folder / "data").glob(f"{split}-*.parquet")):
        yield from pq.read_table(shard, columns=["lang", "task", "code", "image", "flawed_image", "perturbation"]).to_pylist()


def contact_sheet(folder: str | Path, output: str | Path, split: str = "sft", n: int = 24, seed: int = 0) -> int:
    """Image beside the first lines of its code, for ``n`` random rows of a split."""
    from PIL import Image, ImageDraw, ImageFont

    rows = list(_rows(Path(folder), split))
    if not rows:
        raise SystemExit(f"error: split {split!r} has no rows in {folder}")
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    cols = 3
    cell_w, cell_h = THUMB * 2 + 20, THUMB + 30
    sheet = Image.new("RGB", (cols * cell_w, ((len(picked) + cols - 1) // cols) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for k, row in enumerate(picked):
        x, y = (k % cols) * cell_w, (k // cols) * cell_h
        img = Image.open(io.BytesIO((row["image"] or {}).get("bytes"))).convert("RGB")
        img.thumbnail((THUMB, THUMB))
        sheet.paste(img, (x + 5, y + 22))
        label = f"{row['lang']} · {row['task']}" + (f" · {row['perturbation']}" if row["perturbation"] else "")
        draw.text((x + 5, y + 5), label, fill=(200, 0, 0), font=font)
        for i, line in enumerate(row["code"].splitlines()[:CODE_LINES]):
            draw.text((x + THUMB + 15, y + 22 + i * 14), line[:48], fill=(30, 30, 30), font=font)
        draw.rectangle([x, y, x + cell_w - 1, y + cell_h - 1], outline=(210, 210, 210))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
    return len(picked)


def write_report(folder: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    report = folder / "report"
    report.mkdir(exist_ok=True)
    stats = json.loads((folder / "stats.json").read_text())
    table = stats["table"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    written = Counter()
    for lang, cols in table.get("write", {}).items():
        for key, n in cols.items():
            written[(lang, key)] += n
    labels = sorted(written)
    axes[0, 0].barh([f"{lang} {key}" for lang, key in labels], [written[k] for k in labels], color="#4C72B0")
    axes[0, 0].set_title("rows written per language, split and task")
    drops = Counter()
    for stage, langs in table.items():
        for cols in langs.values():
            for key, n in cols.items():
                if key.startswith("dropped:"):
                    drops[f"{stage}: {key[8:]}"] += n
    top = drops.most_common(15)
    axes[0, 1].barh([k for k, _ in top], [v for _, v in top], color="#C44E52")
    axes[0, 1].set_title("drop reasons per stage")
    for key, values in sorted(stats.get("values", {}).items()):
        name, lang = key.split("|")
        if name == "render_ms":
            axes[1, 0].hist(values, bins=30, alpha=0.5, label=lang)
        elif name == "image_px":
            axes[1, 1].hist([v / 1e6 for v in values], bins=30, alpha=0.5, label=lang)
    axes[1, 0].set_title("render time (ms)")
    axes[1, 0].legend()
    axes[1, 1].set_title("image size (megapixels)")
    axes[1, 1].legend()
    fig.tight_layout()
    fig.savefig(report / "overview.png", dpi=90)
    plt.close(fig)
    contact_sheet(folder, report / "samples.png", split="sft", n=24)
    return report
