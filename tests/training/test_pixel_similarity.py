"""The pixel reward ranks target > near-miss > unrelated > blank on real renders of every language."""
from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from itertools import islice

import numpy as np
import pytest
from PIL import Image

from pipelines.perturb.base import registry
from sources.base import open_source
from training.config import TrainConfig
from training.pixel_similarity import PixelEncoder
from training.rewards import RewardConfig, VisualCodeReward, crops
from training.virl import reward_config

# (generator, visual perturbations tried in order: the first that applies to the sample makes its near-miss)
LANGUAGES = {
    "python": ("synthetic.charts", ["python.color", "python.data_values", "python.alter_text"]),
    "html": ("synthetic.html", ["html.color", "html.text_change", "html.font_size"]),
    "svg": ("synthetic.svg", ["svg.fill_color", "svg.stroke_color", "svg.opacity"]),
    "latex": ("synthetic.latex", ["latex.color", "latex.line_width", "latex.node_text"]),
    "smiles": ("synthetic.smiles", ["smiles.atom_swap", "smiles.add_substituent"]),
}


def near_miss(lang: str, code: str, kinds: list[str]) -> str:
    perturbations = registry(lang)
    for kind in kinds:
        for attempt in range(10):
            flawed = perturbations[kind].apply(code, random.Random(attempt))
            if flawed is not None and flawed != code:
                return flawed
    raise AssertionError(f"no perturbation of {kinds} applies to the {lang} sample")


def png_of(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def reward(service):
    return VisualCodeReward(RewardConfig(encoder="pixel"), service=service)


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_ranks_target_near_miss_unrelated_blank(service, reward, lang):
    spec, kinds = LANGUAGES[lang]
    samples = [s.code for s in islice(open_source(spec, seed=5), 4)]
    for target_code, other_code in ((samples[0], samples[2]), (samples[1], samples[3])):
        results = service.render_many([(lang, target_code), (lang, near_miss(lang, target_code, kinds)), (lang, other_code)])
        assert all(r.ok for r in results), [r.first_line() for r in results if not r.ok]
        target = Image.open(io.BytesIO(results[0].png)).convert("RGB")
        blank = png_of(Image.new("RGB", target.size, "white"))
        scores = [p["visual"] for p in reward.score_rendered([r.png for r in results] + [blank], [target] * 4)]
        assert scores[0] == pytest.approx(1.0, abs=1e-4)
        assert scores[0] > scores[1] > scores[2] > scores[3] == 0.0, scores


def test_ink_weights_ignore_the_shared_background():
    """Two different small drawings on white: plain SSIM calls them alike, the pixel score does not."""
    from skimage.metrics import structural_similarity

    a, b = Image.new("RGB", (448, 448), "white"), Image.new("RGB", (448, 448), "white")
    a.paste((200, 30, 30), (40, 40, 140, 140))
    b.paste((30, 30, 200), (300, 300, 400, 400))
    plain = structural_similarity(np.asarray(a.convert("L"), dtype=np.float32), np.asarray(b.convert("L"), dtype=np.float32),
                                  data_range=255.0)
    encoder = PixelEncoder("cpu")
    score = float(encoder.similarity(encoder.embed(crops(b)), encoder.embed(crops(a)))[0])
    assert plain > 0.8 and score < 0.3
    same = float(encoder.similarity(encoder.embed(crops(a)), encoder.embed(crops(a)))[0])
    assert same == pytest.approx(1.0, abs=1e-4)


def test_colour_counts_where_grey_levels_agree():
    """Red and green of the same luma: SSIM on grey sees one picture, the colour term does not."""
    a, b = Image.new("RGB", (448, 448), "white"), Image.new("RGB", (448, 448), "white")
    a.paste((255, 0, 0), (100, 100, 300, 300))
    b.paste((0, 130, 0), (100, 100, 300, 300))
    encoder = PixelEncoder("cpu")
    score = float(encoder.similarity(encoder.embed(crops(b)), encoder.embed(crops(a)))[0])
    assert score < 0.6


@pytest.mark.renders
def test_selectable_in_a_virl_config_and_the_reward_cli(tmp_path, service):
    cfg = TrainConfig(reward={"encoder": "pixel"}, output_dir=str(tmp_path / "virl"))
    assert reward_config(cfg).encoder == "pixel"
    code = next(open_source("synthetic.svg", seed=2)).code
    (tmp_path / "icon.svg").write_text(code)
    (tmp_path / "target.png").write_bytes(service.render_many([("svg", code)])[0].png)
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "reward", "--lang", "svg", "--code", str(tmp_path / "icon.svg"),
                           "--image", str(tmp_path / "target.png"), "--encoder", "pixel"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["visual"] == pytest.approx(1.0, abs=1e-4)
