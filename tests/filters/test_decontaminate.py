"""Decontamination targets (image folders, build folders, source specs) and the match itself."""
from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw

from filters.decontaminate import DecontaminationError, Reference, code_id, contaminated, load_reference
from filters.dedup import phash_of
from tests.sources.hub_fixtures import PY, chartmimic


def picture(shift: int) -> Image.Image:
    image = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(image).rectangle([8 + shift, 8, 30 + shift, 50], fill="black")
    return image


def png_of(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_rows_match_by_phash_radius_or_by_code_id():
    held = [phash_of(picture(0))]
    ref = Reference(hashes=[int(held[0], 16)], ids={code_id("python", "x = 1  # a comment")})
    base = int(held[0], 16)
    hashes = np.array([base ^ 0b111, base ^ ((1 << 20) - 1), 0x0F0F0F0F0F0F0F0F], dtype=np.uint64)
    ids = ["other", "other", code_id("python", "x = 1")]
    assert contaminated(ids, hashes, ref, radius=4).tolist() == [True, False, True]
    assert contaminated(ids, hashes, ref, radius=2).tolist() == [False, False, True]


def test_image_folder_build_folder_and_hub_benchmark(tmp_path):
    folder = tmp_path / "pictures" / "nested"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(png_of(picture(0)))
    (folder / "notes.txt").write_text("not a picture")
    build = tmp_path / "build"
    (build / "data").mkdir(parents=True)
    pq.write_table(pa.table({"lang": ["svg"], "code": ["<svg/>"], "phash": [phash_of(picture(20))]}),
                   build / "data" / "sft-00000-of-00001.parquet")
    bench = tmp_path / "bench"
    bench.mkdir()
    fixture = chartmimic(bench)
    ref = load_reference([(str(tmp_path / "pictures"), {}), (str(build), {}),
                          ("hub:ChartMimic/ChartMimic", fixture.options)])
    assert ref.counts == {str(tmp_path / "pictures"): 1, str(build): 1, "hub:ChartMimic/ChartMimic": 2}
    assert code_id("svg", "<svg/>") in ref.ids and code_id("python", PY) in ref.ids
    assert len(ref.hashes) == 1 + 1 + 2 * 2, "ChartMimic holds out its input figure beside the ground truth"
    assert phash_of(picture(0)) in {f"{h:016x}" for h in ref.hashes}


def test_targets_that_hold_nothing_or_never_end_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DecontaminationError, match="found no image or code"):
        load_reference([(str(tmp_path / "empty"), {})])
    with pytest.raises(DecontaminationError, match="never ends"):
        load_reference([("synthetic.svg", {})])
    with pytest.raises(DecontaminationError, match="no registered layout"):
        load_reference([("hub:someone/unknown", {})])
