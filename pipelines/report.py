"""Plots and contact sheets of a build folder (``DIR/report/``, ``vinci inspect``)."""
from __future__ import annotations

import io
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from core.errors import VinciError
from core.exclusions import read_excluded

log = logging.getLogger("vinci.report")
THUMB = 220
CODE_LINES = 14
CODE_CHARS = 52
LINE_PX = 14
MONO_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "DejaVuSansMono.ttf", "LiberationMono-Regular.ttf")
SPLIT_PREFERENCE = ("sft", "virl", "test")


class EmptySheet(VinciError, ValueError):
    """Nothing to draw: the split (or the filter) has no rows."""


@dataclass
class Picture:
    caption: str
    png: bytes | None
    missing: str = "no render"


@dataclass
class Cell:
    label: str
    pictures: list[Picture]
    code: str
    note: str = ""
    extra: list[str] = field(default_factory=list)


def _rows(folder: Path, split: str):
    for shard in sorted((folder / "data").glob(f"{split}-*.parquet")):
        yield from pq.read_table(shard, columns=["lang", "task", "code", "image", "flawed_image", "perturbation"]).to_pylist()


def splits_with_rows(folder: str | Path) -> list[str]:
    names = {p.name.split("-")[0] for p in (Path(folder) / "data").glob("*-*-of-*.parquet")}
    return [s for s in SPLIT_PREFERENCE if s in names] + sorted(names - set(SPLIT_PREFERENCE))


def row_cell(row: dict) -> Cell:
    """A row drawn with its render; an optimize row also with its flawed render (or why there is none)."""
    image = (row["image"] or {}).get("bytes")
    label = f"{row['lang']} · {row['task']}" + (f" · {row['perturbation']}" if row["perturbation"] else "")
    if row["task"] != "optimize":
        return Cell(label, [Picture("", image)], row["code"])
    flawed = (row["flawed_image"] or {}).get("bytes")
    return Cell(label, [Picture("target", image), Picture("flawed", flawed, "flawed code fails to render")], row["code"])


def contact_sheet(folder: str | Path, output: str | Path, split: str = "sft", n: int = 24, seed: int = 0) -> int:
    """Image beside the first lines of its code, for ``n`` random rows of a split."""
    rows = list(_rows(Path(folder), split))
    if not rows:
        have = splits_with_rows(folder)
        raise EmptySheet(f"split {split!r} has no rows in {folder}" + (f" (splits with rows: {', '.join(have)})" if have else ""))
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    draw_sheet([row_cell(r) for r in picked], output)
    return len(picked)


def excluded_sheet(folder: str | Path, output: str | Path, reason: str | None = None, n: int = 24, seed: int = 0) -> int:
    """The dropped samples of a build: stage, reason and error line, the render where one exists, the code."""
    exclusions = list(read_excluded(folder, reason))
    if not exclusions:
        known = sorted({f"{e.stage}:{e.reason}" for e in read_excluded(folder)})
        what = f"with reason {reason!r} " if reason else ""
        raise EmptySheet(f"no excluded samples {what}in {folder}" + (f" (reasons: {', '.join(known)})" if known else ""))
    picked = random.Random(seed).sample(exclusions, min(n, len(exclusions)))
    draw_sheet([Cell(f"{e.stage}: {e.reason} · {e.lang}" + (f" · {e.perturbation}" if e.perturbation else ""),
                     [Picture("", e.image, "no render")], e.code, note=e.error,
                     extra=[e.source_ref]) for e in picked], output)
    return len(picked)


def mono_font(size: int = 11):
    """DejaVu Sans Mono (Debian's fonts-dejavu-core): code keeps its spaces and indentation."""
    from PIL import ImageFont

    for name in MONO_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    log.warning("no monospace font found (install fonts-dejavu-core); code is drawn in the default font")
    return ImageFont.load_default()


def draw_sheet(cells: list[Cell], output: str | Path, cols: int = 3) -> None:
    from PIL import Image, ImageDraw

    code_w = CODE_CHARS * 7 + 10
    cell_w, cell_h = THUMB + 15 + code_w, THUMB + 60
    sheet = Image.new("RGB", (cols * cell_w, ((len(cells) + cols - 1) // cols) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    font, small = mono_font(11), mono_font(10)
    for k, cell in enumerate(cells):
        x, y = (k % cols) * cell_w, (k // cols) * cell_h
        draw.text((x + 5, y + 4), cell.label[:cell_w // 7], fill=(200, 0, 0), font=font)
        top = y + 22
        for i, line in enumerate(([cell.note] if cell.note else []) + cell.extra):
            draw.text((x + 5, top), line[:cell_w // 6 - 2], fill=(150, 60, 0) if i == 0 and cell.note else (90, 90, 90), font=small)
            top += 13
        _draw_pictures(sheet, draw, cell.pictures, x + 5, top, THUMB, y + cell_h - 6 - top, small)
        code = cell.code.expandtabs(4).splitlines()[:CODE_LINES]
        for i, line in enumerate(code):
            draw.text((x + THUMB + 15, top + i * LINE_PX), line[:CODE_CHARS], fill=(30, 30, 30), font=font)
        draw.rectangle([x, y, x + cell_w - 1, y + cell_h - 1], outline=(210, 210, 210))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)


def _draw_pictures(sheet, draw, pictures: list[Picture], x: int, y: int, width: int, height: int, font) -> None:
    """Pictures stacked in a ``width`` × ``height`` box, each with its caption; a grey box where none."""
    from PIL import Image

    slot = height // len(pictures)
    for i, picture in enumerate(pictures):
        top = y + i * slot
        if picture.caption:
            draw.text((x, top), picture.caption, fill=(90, 90, 90), font=font)
            top += 12
        box = (width, slot - (14 if picture.caption else 2))
        if picture.png is None:
            draw.rectangle([x, top, x + box[0], top + box[1]], fill=(235, 235, 235), outline=(180, 180, 180))
            draw.text((x + 6, top + box[1] // 2 - 6), picture.missing, fill=(120, 120, 120), font=font)
            continue
        img = Image.open(io.BytesIO(picture.png)).convert("RGB")
        img.thumbnail(box)
        sheet.paste(img, (x, top))


def write_report(folder: str | Path) -> Path:
    """``report/overview.png`` and ``report/samples.png`` (rows of ``sft``, else of the first split with rows)."""
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
    if axes[1, 0].get_legend_handles_labels()[0]:
        axes[1, 0].legend()
    axes[1, 1].set_title("image size (megapixels)")
    if axes[1, 1].get_legend_handles_labels()[0]:
        axes[1, 1].legend()
    fig.tight_layout()
    fig.savefig(report / "overview.png", dpi=90)
    plt.close(fig)
    have = splits_with_rows(folder)
    if have:
        contact_sheet(folder, report / "samples.png", split=have[0], n=24)
    return report
