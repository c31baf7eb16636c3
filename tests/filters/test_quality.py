from __future__ import annotations

import io

import numpy as np
from PIL import Image

from filters.quality import CodeCheck, blank_reason, code_reason, image_reason, language_reason
from pipelines.manifest import QualityConfig
from sources.base import open_source


def png(arr):
    """A decoded PNG of ``arr``, as the execution filter hands renders to the checks."""
    out = io.BytesIO()
    Image.fromarray(np.asarray(arr, dtype=np.uint8)).save(out, format="PNG")
    return Image.open(io.BytesIO(out.getvalue()))


ARGS = dict(min_side=32, max_pixels=4096 * 4096, max_aspect=8.0, min_std=3.0, max_dominant_share=0.995)


def test_image_reasons():
    rng = np.random.default_rng(0)
    assert image_reason(png(rng.integers(0, 255, (100, 100, 3))), **ARGS) is None
    assert image_reason(png(np.full((100, 100, 3), 250)), **ARGS) == "near_uniform"
    assert image_reason(png(rng.integers(0, 255, (10, 100, 3))), **ARGS) == "image_too_small"
    assert image_reason(png(rng.integers(0, 255, (40, 400, 3))), **ARGS) == "extreme_aspect"
    almost = np.full((200, 200, 3), 255)
    almost[100, 100] = 0
    assert image_reason(png(almost), **{**ARGS, "min_std": 0.0}) == "mostly_empty"


def test_code_reasons():
    assert code_reason("python", "", 20, 100) == "empty_code"
    assert code_reason("python", "x" * 101, 20, 100) == "code_too_long"
    assert code_reason("python", "x = 1", 20, 100) == "code_too_short"
    assert code_reason("smiles", "CCO", 20, 100) is None
    svg = "<svg>" + " " * 30 + "</svg>"
    assert code_reason("svg", svg, 20, 100, harvest_error="undecodable_code") == "undecodable_code"
    assert code_reason("svg", svg, 20, 100, harvest_error="code is not valid UTF-8") == "harvest_error", "a message is not parsed"


def test_a_harvested_row_that_is_not_utf8_is_dropped_with_its_typed_reason(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><text>caf\xe9</text><circle r="4"/></svg>'
    pq.write_table(pa.table({"src": pa.array([svg], pa.binary())}), path)
    [sample] = open_source("hub:someone/icons", options={"data_files": str(path), "code_column": "src", "lang": "svg"})
    assert CodeCheck(QualityConfig()).verdict(sample) == (False, "undecodable_code", "code is not valid UTF-8")


def test_language_check():
    assert language_reason("python", "import matplotlib.pyplot as plt\nplt.plot([1])") is None
    assert language_reason("python", "<html><body>hi</body></html>") == "wrong_language"
    assert language_reason("python", "import x\ndef f(:\n") is None
    assert language_reason("html", "<svg xmlns='http://www.w3.org/2000/svg'></svg>") == "wrong_language"
    assert language_reason("svg", "<html><body></body></html>") == "wrong_language"
    assert language_reason("latex", "\\begin{tikzpicture}\\end{tikzpicture}") is None
    assert language_reason("smiles", "import os") == "wrong_language"


def test_the_reward_calls_blank_what_the_build_drops_as_blank():
    from training.rewards import RewardConfig

    quality, reward = QualityConfig(), RewardConfig()
    assert (reward.min_std, reward.max_dominant_share) == (quality.min_std, quality.max_dominant_share)
    flat = Image.new("RGB", (300, 200), (250, 250, 250))
    assert blank_reason(flat) == image_reason(flat, **ARGS) == "near_uniform"
