"""Contact sheets: code in a monospace font, optimize rows with their flawed render, empty splits."""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageFont

from pipelines.report import EmptySheet, contact_sheet, mono_font, row_cell, write_report


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buf, "PNG")
    return buf.getvalue()


def test_code_font_is_monospace():
    font = mono_font(11)
    assert isinstance(font, ImageFont.FreeTypeFont) and "Mono" in font.getname()[0]
    assert font.getlength("    ") == font.getlength("iiii") == font.getlength("MMMM")


def test_optimize_rows_show_target_and_flawed_render():
    row = {"lang": "svg", "task": "optimize", "code": "<svg/>", "perturbation": "svg.fill_color",
           "image": {"bytes": png("red")}, "flawed_image": {"bytes": png("blue")}}
    cell = row_cell(row)
    assert [p.caption for p in cell.pictures] == ["target", "flawed"] and cell.pictures[1].png == png("blue")
    failing = row_cell({**row, "flawed_image": None, "perturbation": "svg.unclosed_tag"})
    assert failing.pictures[1].png is None and "fails to render" in failing.pictures[1].missing
    assert len(row_cell({**row, "task": "generate", "flawed_image": None}).pictures) == 1


def test_sheet_draws_the_flawed_render(tmp_path):
    """Blue appears on the sheet only if the flawed render (blue) is drawn beside the red target."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.records import Record, to_arrow_row
    from pipelines.shards import shard_schema

    (tmp_path / "data").mkdir()
    record = Record(id="a", task="optimize", lang="svg", code="<svg>\n    <rect/>\n</svg>", image=png((255, 0, 0)),
                    source="s", source_ref="r", license="MIT", flawed_code="<svg/>", flawed_image=png((0, 0, 255)),
                    perturbation="svg.fill_color")
    pq.write_table(pa.Table.from_pylist([to_arrow_row(record)], schema=shard_schema()),
                   tmp_path / "data" / "sft-00000-of-00001.parquet")
    contact_sheet(tmp_path, tmp_path / "sheet.png", n=1)
    colors = {c for _, c in Image.open(tmp_path / "sheet.png").convert("RGB").getcolors(1 << 20)}
    assert (255, 0, 0) in colors and (0, 0, 255) in colors


@pytest.mark.renders
def test_empty_split_is_a_clear_error_and_the_report_still_writes(reference, tmp_path):
    _, out = reference
    with pytest.raises(EmptySheet, match=r"split 'test' has no rows in .*splits with rows: sft, virl"):
        contact_sheet(out, tmp_path / "x.png", split="test")
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for shard in (copy / "data").glob("sft-*"):
        shard.unlink()
    report = write_report(copy)
    assert (report / "overview.png").exists() and (report / "samples.png").exists()
    assert json.loads((copy / "stats.json").read_text())
