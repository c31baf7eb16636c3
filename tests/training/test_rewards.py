"""The visual reward on real renders with a tiny random DINOv2: identical → 1, perturbed < 1, failures 0."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.training.test_answers import HACKS, HONEST
from training.rewards import DinoEncoder, RewardConfig, VisualCodeReward, crops, extract_code, tile_grid

CHART = "import matplotlib.pyplot as plt\nplt.figure(figsize=(6, 4))\nplt.bar(['a', 'b', 'c'], [3, 1, 2], color='#4C72B0')\nplt.title('Sales')\n"
SHIFTED = CHART.replace("[3, 1, 2]", "[1, 3, 2]").replace("#4C72B0", "#DD2222")


@pytest.fixture(scope="module")
def reward(service, tiny_dinov2):
    return VisualCodeReward(RewardConfig(encoder=tiny_dinov2), service=service)


@pytest.fixture(scope="module")
def target(service):
    return Image.open(io.BytesIO(service.render_many([("python", CHART)])[0].png)).convert("RGB")


def answer(lang, code):
    return [{"role": "assistant", "content": f"Here you go:\n```{lang}\n{code}\n```"}]


@pytest.mark.renders
def test_identical_render_scores_one_and_perturbed_less(reward, target):
    parts = reward.score([answer("python", CHART), answer("python", SHIFTED)], ["python", "python"], [target, target])
    assert parts[0]["visual"] == pytest.approx(1.0, abs=1e-5) and parts[0]["total"] == pytest.approx(1.0, abs=1e-5)
    assert parts[1]["executed"] == 1.0 and parts[1]["visual"] < parts[0]["visual"]


@pytest.mark.renders
@pytest.mark.needs_chromium
def test_failures_and_wrong_language_score_zero(reward, target):
    completions = [answer("python", "raise ValueError('x')"), answer("html", "<p>hi</p>"), "no code at all",
                   answer("python", "import time\ntime.sleep(60)")]
    parts = reward.score(completions, ["python"] * 4, [target] * 4)
    assert [p["visual"] for p in parts] == [0.0, 0.0, 0.0, 0.0]
    assert [p["format"] for p in parts] == [1.0, 0.0, 0.0, 1.0]
    assert parts[0]["total"] == pytest.approx(0.1)


@pytest.mark.renders
def test_trl_callables_log_per_language(reward, target):
    logged = {}
    scores = reward.visual(prompts=[None, None], completions=[answer("python", CHART), answer("svg", "<svg/>")],
                           lang=["python", "svg"], image=[target, target], log_metric=lambda k, v: logged.setdefault(k, v))
    assert scores[0] == pytest.approx(1.0, abs=1e-5) and scores[1] == 0.0
    assert {"reward/visual/python", "reward/visual/svg", "reward/executed/python"} <= set(logged)
    assert reward.format(completions=[answer("svg", "<svg/>")], lang=["python"]) == [0.0]


@pytest.mark.renders
def test_target_embeddings_are_cached(reward, target):
    calls = []
    original = reward.encoder.embed
    reward.encoder.embed = lambda pixels, batch=32: calls.append(len(pixels)) or original(pixels, batch)
    try:
        reward.score([answer("python", CHART)] * 3, ["python"] * 3, [target] * 3)
    finally:
        reward.encoder.embed = original
    n = len(crops(target))
    assert calls == [3 * n]


def test_tiling_follows_the_aspect_ratio():
    assert tile_grid(448, 448) == (1, 1)
    assert tile_grid(1792, 448) == (4, 1)
    assert tile_grid(896, 1344) == (2, 3)
    cols, rows = tile_grid(10000, 100)
    assert cols * rows <= 12
    pieces = crops(Image.new("RGB", (900, 450)), tile=448)
    assert tuple(pieces.shape) == (1 + 2, 3, 448, 448)
    assert crops(Image.new("RGB", (300, 300), "white"), tile=448).min() > 0.99


@pytest.mark.renders
def test_coarse_and_fine_weights(service, tiny_dinov2, target):
    only_coarse = VisualCodeReward(RewardConfig(encoder=tiny_dinov2, fine_weight=0.0), service=service)
    parts = only_coarse.score([answer("python", SHIFTED)], ["python"], [target])[0]
    assert parts["visual"] == pytest.approx(parts["coarse"], abs=1e-6)


def test_extract_code_takes_one_block_in_the_language():
    assert extract_code("Here:\n```py\nx = 1\n```", "python") == "x = 1"
    assert extract_code("```svg\n<svg/>\n```\nbetter:\n```python\nx = 1\n```", "python") is None


@pytest.mark.renders
def test_known_hacks_score_zero(reward, target):
    completions = [c for _, c, _ in HACKS]
    parts = reward.score(completions, [lang for lang, _, _ in HACKS], [target] * len(HACKS))
    assert [p["total"] for p in parts] == [0.0] * len(HACKS)


@pytest.mark.renders
def test_the_smiles_hack_neither_renders_nor_earns(service, reward, target):
    assert service.render_many([("smiles", "CNCCN scale scale scale")])[0].error_kind == "syntax"
    assert reward.score(["```smiles\nCNCCN scale scale scale\n```"], ["smiles"], [target])[0]["total"] == 0.0
    assert reward.score(["```smiles\nCNCCN\n```"], ["smiles"], [target])[0]["executed"] == 1.0


NEAR_UNIFORM = [
    ("svg", '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><circle cx="200" cy="200" r="1.5"/></svg>'),
    ("python", "import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(4, 3))\nfig.text(0.5, 0.5, '.')"),
    ("html", '<html><body><div style="width:3px;height:3px;background:#000"></div></body></html>'),
    ("latex", "\\begin{tikzpicture}\\fill (0,0) circle (0.3pt);\\path (0,0) rectangle (6,6);\\end{tikzpicture}"),
]


@pytest.mark.renders
def test_near_uniform_renders_score_zero(service, reward, target):
    """The renderer accepts these (not one flat colour); the reward sees nothing to compare."""
    assert all(r.ok for r in service.render_many(NEAR_UNIFORM)), [r.status_line() for r in service.render_many(NEAR_UNIFORM)]
    parts = reward.score([answer(lang, code) for lang, code in NEAR_UNIFORM], [lang for lang, _ in NEAR_UNIFORM], [target] * 4)
    assert [(p["blank"], p["executed"], p["visual"]) for p in parts] == [(1.0, 0.0, 0.0)] * 4


@pytest.mark.renders
def test_honest_answers_render_and_score(reward, target):
    parts = reward.score([c for _, c, _ in HONEST], [lang for lang, _, _ in HONEST], [target] * len(HONEST))
    assert [(p["format"], p["executed"], p["blank"]) for p in parts] == [(1.0, 1.0, 0.0)] * len(HONEST)
    assert all(p["visual"] > 0 for p in parts)


def test_encoder_loads_a_saved_folder(tiny_dinov2):
    emb = DinoEncoder(tiny_dinov2).embed(crops(Image.new("RGB", (448, 448), "white")).repeat(2, 1, 1, 1)[:2])
    assert emb.shape == (2, 64) and np.allclose(emb.norm(dim=-1).numpy(), 1.0, atol=1e-5)


@pytest.mark.renders
def test_reward_cli(tmp_path, tiny_dinov2, target):
    code = tmp_path / "chart.py"
    code.write_text(CHART)
    png = tmp_path / "target.png"
    target.save(png)
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "reward", "--lang", "python", "--code", str(code),
                           "--image", str(png), "--encoder", tiny_dinov2], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    parts = json.loads(done.stdout)
    assert parts["total"] == pytest.approx(1.0, abs=1e-4) and {"visual", "format", "coarse", "fine"} <= set(parts)


def release_visual(model, target, render) -> float:
    """VinciCoder's released similarity, written here from its definition: PIL bicubic resizes, tiles, a thumbnail
    only when there is more than one tile, CLS of ``hidden_states[-1]``, mean of (cos + 1) / 2 over crops."""
    import torch

    from training.rewards import IMAGENET_MEAN, IMAGENET_STD

    def pieces(img):
        cols, rows = tile_grid(*img.size)
        big = img.resize((448 * cols, 448 * rows), Image.BICUBIC)
        out = [big.crop((x * 448, y * 448, (x + 1) * 448, (y + 1) * 448)) for y in range(rows) for x in range(cols)]
        if len(out) > 1:
            out.append(img.resize((448, 448), Image.BICUBIC))
        t = torch.stack([torch.from_numpy(np.asarray(p, dtype=np.float32) / 255).permute(2, 0, 1) for p in out])
        return (t - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    with torch.no_grad():
        a = model(pixel_values=pieces(target), output_hidden_states=True).hidden_states[-1][:, 0]
        b = model(pixel_values=pieces(render.resize(target.size, Image.BICUBIC)), output_hidden_states=True).hidden_states[-1][:, 0]
    return float(((torch.nn.functional.cosine_similarity(a, b) + 1) / 2).mean())


def png_of(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.renders
def test_reward_matches_the_release_on_one_and_many_tiles(service, tiny_dinov2, target):
    shifted, mol, other = [Image.open(io.BytesIO(r.png)).convert("RGB") for r in service.render_many(
        [("python", SHIFTED), ("smiles", "CC(=O)Oc1ccccc1C(=O)O"), ("smiles", "CC(=O)Oc1ccccc1C(=O)N")])]
    assert len(crops(mol)) == 1 and len(crops(target)) == 1 + 6
    reward = VisualCodeReward(RewardConfig(encoder=tiny_dinov2), service=service)
    for goal, render in [(mol, other), (target, shifted), (mol, target), (target, mol)]:
        ours = reward.score_rendered([png_of(render)], [goal])[0]["visual"]
        assert ours == pytest.approx(release_visual(reward.encoder.model, goal, render), abs=1e-4)


@pytest.mark.renders
def test_cls_release_is_before_the_final_layernorm_and_pooler_after(tiny_dinov2, target):
    import torch

    release, pooler = DinoEncoder(tiny_dinov2, "cpu", cls="release"), DinoEncoder(tiny_dinov2, "cpu", cls="pooler")
    pixels = crops(target)
    normalised = (pixels - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        last = release.model(pixel_values=normalised, output_hidden_states=True).hidden_states[-1]
    unit = torch.nn.functional.normalize
    assert torch.allclose(release.embed(pixels), unit(last[:, 0], dim=-1), atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(pooler.embed(pixels), unit(pooler.model.layernorm(last)[:, 0], dim=-1), atol=1e-5)
        # Real weights carry a learned final layernorm; give the random one a scale and shift like them.
        for enc in (release, pooler):
            enc.model.layernorm.weight.copy_(torch.linspace(0.1, 3.0, enc.model.layernorm.weight.numel()))
            enc.model.layernorm.bias.copy_(torch.linspace(-1.0, 1.0, enc.model.layernorm.bias.numel()))
    assert torch.allclose(release.embed(pixels), unit(last[:, 0], dim=-1), atol=1e-5)
    assert (pooler.embed(pixels) - release.embed(pixels)).abs().max() > 0.05


def test_cls_defaults_to_the_release_and_rejects_other_values():
    assert RewardConfig().cls == "release"
    with pytest.raises(ValueError, match="cls"):
        RewardConfig(cls="mean")



@pytest.mark.renders
@pytest.mark.needs_chromium
def test_an_answer_is_drawn_under_its_prompts_render_conventions(service, tiny_dinov2, target):
    """A Design2Code prompt's answer is rendered at the benchmark's 1280 px viewport, as its target was."""
    from training.data import to_grpo_example

    buf = io.BytesIO()
    target.save(buf, format="PNG")
    row = {"lang": "html", "task": "generate", "code": "<p>x</p>", "image": {"bytes": buf.getvalue(), "path": None},
           "meta": '{"render": {"viewport_width": 1280, "viewport_height": 720}}'}
    example = to_grpo_example(row)
    assert json.loads(example["render"]) == {"viewport_width": 1280, "viewport_height": 720}
    drawn = []

    class Watched:  # the real service, its results kept
        def render_many(self, jobs):
            results = service.render_many(jobs)
            drawn.extend(results)
            return results

    reward = VisualCodeReward(RewardConfig(encoder=tiny_dinov2), service=Watched())
    reward.visual(completions=["```html\n<h1>Shop</h1>\n```"], lang=["html"], image=[example["image"]],
                  render=[example["render"]])
    assert [(r.ok, r.width, r.height) for r in drawn] == [(True, 1280, 720)]
