"""Does training on a vinci corpus make a model better at its job? A learning benchmark that runs on a CPU.

Build (or take) a corpus of vinci's generators, train a small Qwen2-VL from scratch (built from a config, with a
byte-level BPE trained on the corpus's code) with ``vinci train sft`` for a fixed number of steps, then
``vinci train virl`` from that checkpoint, and evaluate held-out images at init, after SFT and after ViRL, per
language. Profiles fix steps and seeds, never minutes (a wall-clock budget made results depend on the machine's
load); the minutes each stage took are reported. What buys steps on one busy core: SFT batches of one length
bucket each (``length_buckets``), the build's code-length cap, ~25-36 image tokens a picture; and what lets the
picture be read at all: white normalises to 0, so a blank patch embeds to zero, and (canary) SFT batches that hold
both languages in equal numbers (``balance_languages``).

Execution rate alone proves nothing (a model that copies one training answer executes 100%). What is measured is
whether the output depends on the picture: each output's similarity to **its own** target against the same
output's mean similarity to **other** targets of its language (SMILES: Tanimoto of Morgan fingerprints against
the reference; pictures: SSIM of the render against the target image, both 128x128 grey), with a bootstrap 95%
interval on the paired gap; plus the share of outputs not in the training set (``novel``) and of exact
(canonical) matches. A second, generation-free probe: the reference answer's loss given its own image against
given another row's image (``nll_gap_ci_low`` > 0: the model's belief about the answer depends on the picture).
ViRL (reward: ``Profile.reward``, the pixel reward by default) is judged by the paired gain of greedy rewards on
the held-out test rows, ViRL minus SFT, with its bootstrap interval.

Profiles: ``canary`` is the controlled task (``CANARY_SOURCES``: the picture determines a short answer) with its
pass/fail criteria fixed in ``judge_canary`` (exit status 1 when a language fails); ``quick``/``full`` the realistic
SMILES + SVG corpus; ``gpu`` a 44 M-parameter model on all five languages for one CUDA GPU; ``smoke`` a pipeline check.

    python benchmarks/learning_curve.py [--profile canary|quick|full|gpu|smoke] [--seed N] [--json OUT.json]
                                        [--data BUILD_DIR] [--workdir runs/learning] [--corpus-only]

Writes OUT.json (``{"stages": {"init"|"sft"|"virl": {LANG: {"format", "exec", "visual", "reward", "rewards", "own",
"shuffled", "gap_ci_low", "novel", "exact", "n", ...}}}, "virl_gain", "criteria", "minutes", ...}``) and OUT.png
(SFT loss and ViRL reward per language over steps) beside it, and prints the table.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.languages import LANGS as ALL_LANGS, LANGUAGES  # noqa: E402

LANGS = ("smiles", "svg")  # the realistic profiles' corpus
INIT_TOKENS = 96


@dataclass(frozen=True)
class Profile:
    """Everything a run depends on besides ``--seed``: corpus, model, fixed step counts, reward."""

    rows_per_lang: int
    test: int            # held-out rows in all (split evenly by the build's clusters)
    virl: int            # ViRL prompts in all
    sft_steps: int
    virl_steps: int
    langs: tuple[str, ...] = LANGS
    virl_langs: tuple[str, ...] = LANGS
    source_options: dict = field(default_factory=dict)  # language → options of its synthetic generator
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    vision_depth: int = 2
    vision_width: int = 64
    vision_heads: int = 4
    max_pixels: int = 140 * 140
    vocab: int = 2000
    sft_lr: float = 2e-3
    sft_warmup: int = 30
    balance_languages: bool = False  # SFT batches hold every language in equal numbers (else one length bucket each)
    virl_lr: float = 1e-4
    virl_beta: float = 0.0  # GRPO's KL weight against the SFT model (trl's ``beta``)
    batch: int = 8
    virl_batch: int = 8
    generations: int = 4
    # The build's quality cap on code length: it keeps the SVG generator's shorter kinds of picture (badges,
    # stars, labels, blobs: ~200 tokens) and drops most long ones (petal groups, waves: 400-850 tokens), whose
    # steps cost 2-4x as much here. SMILES (~30 characters) are untouched.
    max_code_chars: int = 600
    min_code_chars: int = 20
    phash_radius: int = 4
    draw: dict = field(default_factory=lambda: {"svg": 1.6})  # rows drawn per row wanted (the code-length cap drops some)
    reward: str = "pixel"          # the reward ViRL trains on and the table's reward column
    also_reward: str | None = None  # a second encoder scored beside it (column reward_2), never trained on
    device: str = "cpu"
    render_workers: int = 1
    criteria: bool = False         # judge the run against CANARY_CRITERIA (exit status 1 when one fails)


# What --profile canary must show on every language, fixed before any canary run (issue 24): on held-out test
# rows, the final (ViRL) model's output is more similar to its own target than to other targets (bootstrap 95%
# interval on the paired gap above 0), it executes far more often than the random init (by at least half of all
# rows), and ViRL's greedy reward is above SFT's on the same rows (interval on the paired gain above 0).
CANARY_MIN_EXEC_GAIN = 0.5

CANARY_SOURCES = {
    # 1-2 flat shapes (circle, square, triangle) of 5 named colours on a 3x3 grid: 60-85 tokens with the BPE.
    "svg": {"kinds": ["grid"], "grid_cells": 3, "grid_max_shapes": 2, "grid_colors": ["red", "blue", "green", "orange", "purple"]},
    # a chain of 1-6 carbons, 0-2 benzene/cyclohexane rings at its ends, at most one O, N or Cl.
    "smiles": {"family": "simple", "max_chain": 6, "max_rings": 2, "heteroatoms": ["O", "N", "Cl"]},
}

PROFILES = {
    # ViRL on SMILES only in --quick: a GRPO step on ~200-token SVG answers takes ~10x a SMILES one here.
    # Step counts: what the earlier 5.5- and 14-minute budgets reached on a quiet machine (884 and 1,559 steps).
    "quick": Profile(rows_per_lang=1500, test=96, virl=32, sft_steps=900, virl_steps=80, virl_langs=("smiles",)),
    "full": Profile(rows_per_lang=3000, test=192, virl=48, sft_steps=1600, virl_steps=90),
    "smoke": Profile(rows_per_lang=150, test=12, virl=12, sft_steps=20, virl_steps=4, virl_langs=("smiles",)),
    # A task a 1.5 M model can learn on two cores: the picture determines a short answer (CANARY_SOURCES).
    # ViRL at lr 2e-4 without a KL term lost the format on both languages (seed 0, format 1.00 -> 0.00); 5e-5 with
    # trl's former default KL weight 0.04 keeps the policy near the SFT model.
    # Exact-duplicate pictures only are clustered (phash radius 0): a grid picture's hash is near many others'.
    # SFT batches hold both languages in equal numbers (training/sampling.py: with one language a batch, SMILES or
    # SVG answers stopped depending on the picture, whichever had fewer steps).
    "canary": Profile(rows_per_lang=1200, test=128, virl=64, sft_steps=1200, virl_steps=60, source_options=CANARY_SOURCES,
                      min_code_chars=1, phash_radius=0, draw={}, max_pixels=168 * 168, virl_lr=5e-5, virl_beta=0.04, virl_batch=16,
                      balance_languages=True, criteria=True),
    # One H200: a 45 M-parameter Qwen2-VL (448-px pictures, 256 image tokens) on all five languages, the pixel
    # reward for ViRL and a random DINOv2 of dinov2-large's shape scored beside it. Not yet run (see README).
    "gpu": Profile(rows_per_lang=2000, test=320, virl=160, sft_steps=2500, virl_steps=60, langs=ALL_LANGS, virl_langs=ALL_LANGS,
                   hidden=512, layers=8, heads=8, kv_heads=4, vision_depth=6, vision_width=384, vision_heads=6,
                   max_pixels=448 * 448, vocab=8000, sft_lr=5e-4, sft_warmup=100, virl_lr=5e-5, batch=32, virl_batch=32,
                   draw={"svg": 1.6, "python": 1.6, "html": 2.0, "latex": 1.6}, max_code_chars=1500,
                   also_reward="dinov2-large-shaped", device="cuda", render_workers=8),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- corpus and model

def corpus_manifest(profile: Profile, seed: int) -> dict:
    """The ``vinci build`` manifest of a profile's corpus: vinci's generators with the profile's options."""
    return {
        "name": "learning-curve", "seed": seed, "unit_rows": 100, "shard_rows": 5000,
        "sources": [{"source": LANGUAGES[lang].synthetic_source, "n": int(profile.rows_per_lang * profile.draw.get(lang, 1)),
                     **({"options": profile.source_options[lang]} if lang in profile.source_options else {})}
                    for lang in profile.langs],
        "render": {"timeout_s": 10, "workers": profile.render_workers},
        "quality": {"max_code_chars": profile.max_code_chars, "min_code_chars": profile.min_code_chars},
        "dedup": {"phash_radius": profile.phash_radius},
        "splits": {"test": profile.test, "virl": profile.virl, "sft": "rest"},
    }


def build_corpus(out: Path, profile: Profile, seed: int) -> str:
    import yaml

    from pipelines.build import Build
    from pipelines.manifest import load_manifest

    folder = out / "corpus"
    if (folder / "manifest.lock.yaml").exists():
        return str(folder)
    manifest = out / "corpus.yaml"
    manifest.write_text(yaml.safe_dump(corpus_manifest(profile, seed), sort_keys=False))
    Build(load_manifest(manifest), folder, workers=profile.render_workers, progress=False).run()
    return str(folder)


def model_shape(profile: Profile):
    from training.models import ModelShape

    return ModelShape(hidden=profile.hidden, layers=profile.layers, heads=profile.heads, kv_heads=profile.kv_heads,
                      intermediate=profile.hidden * 3, vision_depth=profile.vision_depth, vision_width=profile.vision_width,
                      vision_heads=profile.vision_heads, min_pixels=56 * 56, max_pixels=profile.max_pixels)


def build_model(out: Path, data: str, profile: Profile, seed: int) -> str:
    from training.data import load_split
    from transformers.models.qwen2_vl import Qwen2VLImageProcessorPil

    from training.models import build_qwen2_vl, code_tokenizer
    from training.prompts import GENERATE, fenced

    folder = out / "init-model"
    if (folder / "config.json").exists():
        return str(folder)
    train = load_split(data, "sft")
    texts = [fenced(lang, code) for lang, code in zip(train["lang"], train["code"])] + list(GENERATE.values()) * 20
    shape = model_shape(profile)
    build_qwen2_vl(folder, code_tokenizer(texts, profile.vocab), shape, seed)
    # White is 0 after normalisation: Qwen2-VL's patch embedding has no bias, so a blank patch embeds to zero and
    # a drawn one to its ink. With CLIP's mean, every token of a mostly white picture starts as nearly the same
    # vector (pictures differ by ~15% of the image tokens' norm), and SFT grows that shared part further.
    Qwen2VLImageProcessorPil(min_pixels=shape.min_pixels, max_pixels=shape.max_pixels, image_mean=[1.0, 1.0, 1.0],
                             image_std=[0.5, 0.5, 0.5]).save_pretrained(folder)
    return str(folder)


# ---------------------------------------------------------------- training through the CLI

def train(stage: str, data: str, model: str, out: Path, settings: dict, device: str = "cpu") -> Path:
    import yaml

    config = out / f"{stage}.yaml"
    output = out / stage
    config.write_text(yaml.safe_dump({"model": model, "output_dir": str(output), "bf16": device == "cuda", "use_cpu": device == "cpu",
                                      "gradient_checkpointing": False, "num_train_epochs": 1000, "save_steps": 100000,
                                      "save_total_limit": 1, "lr_scheduler_type": "constant_with_warmup", **settings}))
    if not (output / "model.safetensors").exists():
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "pipelines.cli", "train", stage, "--data", data, "--config", str(config),
                               "--overwrite"],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"vinci train {stage} failed:\n{done.stderr[-3000:]}")
        log(done.stdout.strip().splitlines()[-1])
    return output


def virl_prompts_folder(data: str, out: Path, langs: tuple[str, ...]) -> str:
    """The corpus's ViRL prompts of ``langs`` only, as a build folder ``vinci train virl`` takes."""
    from training.data import load_split
    from training.folders import FolderSpec, undecoded, write_folder

    folder = out / "virl-prompts"
    rows = [dict(r) for r in undecoded(load_split(data, "virl")) if r["lang"] in langs]
    write_folder(folder, {"virl": rows}, FolderSpec("learning-curve ViRL prompts", f"ViRL prompts of {', '.join(langs)}.",
                                                    {"data": data, "langs": list(langs)}))
    return str(folder)


def history(output: Path) -> list[dict]:
    states = sorted(output.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    return json.loads(states[-1].read_text())["log_history"] if states else []


# ---------------------------------------------------------------- evaluation

def small_grey(image) -> np.ndarray:
    return np.asarray(image.convert("L").resize((128, 128)), dtype=np.float32)


def picture_similarity(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, data_range=255.0))


def bootstrap_low(diffs: list[float], seed: int = 0, rounds: int = 2000) -> float:
    """2.5th percentile of the bootstrap distribution of the mean paired gap."""
    if not diffs:
        return 0.0
    rng = np.random.default_rng(seed)
    d = np.asarray(diffs)
    means = d[rng.integers(0, len(d), size=(rounds, len(d)))].mean(axis=1)
    return float(np.percentile(means, 2.5))


def own_and_shuffled(lang: str, rows: list[dict], scored: list, others: int = 8, seed: int = 0) -> tuple[list[float], list[float]]:
    """Per output: similarity to its own target, and mean similarity to up to ``others`` other targets."""
    from PIL import Image

    from training.data import as_image
    from training.eval import tanimoto

    rng = random.Random(seed)
    if lang == "smiles":
        def sim(i: int, j: int) -> float:
            return tanimoto(rows[j]["code"], scored[i].answer.code) if scored[i].png is not None else 0.0
    else:
        targets = [small_grey(as_image(r["image"])) for r in rows]
        renders = [small_grey(Image.open(io.BytesIO(s.png))) if s.png is not None else None for s in scored]

        def sim(i: int, j: int) -> float:
            return 0.0 if renders[i] is None else picture_similarity(targets[j], renders[i])
    own, shuffled = [], []
    for i in range(len(scored)):
        picks = rng.sample([j for j in range(len(rows)) if j != i], min(others, len(rows) - 1))
        own.append(sim(i, i))
        shuffled.append(float(np.mean([sim(i, j) for j in picks])) if picks else 0.0)
    return own, shuffled


def answer_nll(model, processor, row: dict, image) -> float:
    """Mean negative log-likelihood per token of the reference answer given ``image`` (teacher forcing)."""
    import torch

    from training.data import user_turn
    from training.prompts import fenced

    messages, _ = user_turn({**row, "task": "generate"})
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    full = prompt + fenced(row["lang"], row["code"]) + "<|im_end|>"
    batch = processor(text=[full], images=[image], return_tensors="pt").to(model.device)
    start = processor(text=[prompt], images=[image], return_tensors="pt")["input_ids"].shape[1]
    labels = batch["input_ids"].clone()
    labels[:, :start] = -100
    with torch.inference_mode():
        return float(model(**batch, labels=labels).loss)


def nll_own_and_shuffled(model, processor, rows: list[dict], seed: int = 0) -> tuple[list[float], list[float]]:
    """The reference answer's NLL with its own image and with another row's image (a derangement)."""
    from training.data import as_image

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    other = {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}
    images = [as_image(r["image"]) for r in rows]
    own = [answer_nll(model, processor, r, images[i]) for i, r in enumerate(rows)]
    shuffled = [answer_nll(model, processor, r, images[other[i]]) for i, r in enumerate(rows)]
    return own, shuffled


def answer_budget(tokenizer, rows: list[dict]) -> int:
    """A quarter more than the 90th-percentile reference answer: an untrained model talks until the budget
    ends, and on a busy CPU the longest 10% of references are not worth doubling every stage's cost."""
    from training.prompts import fenced

    lengths = [len(tokenizer(fenced(r["lang"], r["code"]))["input_ids"]) for r in rows]
    return int(np.percentile(lengths, 90) * 1.25 + 16) if lengths else 64


def evaluate(model_path: str, rows_by_lang: dict[str, list[dict]], train_codes: dict[str, set[str]], reward, seed: int,
             max_new_tokens: int | None = None, device: str = "cpu", also=None) -> dict:
    """Per language: the table's measures, and ``rewards``, each row's reward (for paired comparisons of stages);
    ``also``: a second reward scored on the same renders (``reward_2``)."""
    from filters.dedup import normalize_code
    from training.eval import generate, score
    from training.models import load_model, load_processor

    model, processor = load_model(model_path, bf16=device == "cuda").to(device), load_processor(model_path)
    table = {}
    for lang, rows in rows_by_lang.items():
        budget = max_new_tokens or answer_budget(processor.tokenizer, rows)
        completions = [c[0] for c in generate(model, processor, rows, budget, progress=None, batch_size=16)]
        scored = score(rows, completions, reward)
        second = also.score_rendered([s.png for s in scored], [r["image"] for r in rows], [s.answer.ok for s in scored]) if also else None
        own, shuffled = own_and_shuffled(lang, rows, scored, seed=seed)
        nll_own, nll_shuffled = nll_own_and_shuffled(model, processor, rows, seed) if len(rows) > 1 else ([0.0], [0.0])
        with_code = [s for s in scored if s.answer.ok]
        norm = [normalize_code(lang, s.answer.code) for s in with_code]
        table[lang] = {
            "format": float(np.mean([s.parts["format"] for s in scored])),
            "exec": float(np.mean([s.parts["executed"] for s in scored])),
            "visual": float(np.mean([s.parts["visual"] for s in scored])),
            "reward": float(np.mean([s.parts["total"] for s in scored])),
            "rewards": [round(s.parts["total"], 6) for s in scored],
            **({"reward_2": float(np.mean([p["total"] for p in second]))} if second else {}),
            "own": float(np.mean(own)), "shuffled": float(np.mean(shuffled)),
            "gap_ci_low": bootstrap_low([a - b for a, b in zip(own, shuffled)], seed),
            "novel": float(np.mean([n not in train_codes[lang] for n in norm])) if norm else 0.0,
            "distinct": len(set(norm)) / len(rows),
            "exact": float(np.mean([s.answer.ok and normalize_code(lang, s.answer.code) == normalize_code(lang, s.row["code"])
                                    for s in scored])),
            "nll_own": float(np.mean(nll_own)), "nll_shuffled": float(np.mean(nll_shuffled)),
            "nll_gap_ci_low": bootstrap_low([b - a for a, b in zip(nll_own, nll_shuffled)], seed),
            "n": len(rows), "max_new_tokens": budget,
        }
    return table


def held_out(data: str, split: str, per_lang: int | None, seed: int, langs: tuple[str, ...] = LANGS) -> dict[str, list[dict]]:
    from training.data import load_split
    from training.eval import pick_rows
    from training.folders import undecoded

    rows = pick_rows(undecoded(load_split(data, split)), None, seed)
    by = {lang: [r for r in rows if r["lang"] == lang] for lang in langs}
    return {lang: rs[:per_lang] if per_lang else rs for lang, rs in by.items() if rs}


# ---------------------------------------------------------------- report

def step_languages(sft_log: list[dict]) -> list[tuple[int, float, str]]:
    """(step, loss, language) of each logged SFT step. Batches are grouped by length, so one language each: the
    language is read from the tokens the step consumed (``num_tokens`` grows by the batch's unpadded tokens),
    split into the shorter (SMILES) and longer (SVG) of two 1-D clusters."""
    points = [(e["step"], e["loss"], e["num_tokens"]) for e in sft_log if "loss" in e and "num_tokens" in e]
    sizes = np.diff([0.0] + [p[2] for p in points])
    if len(sizes) < 2:
        return [(step, loss, "all") for step, loss, _ in points]
    lo, hi = float(sizes.min()), float(sizes.max())
    for _ in range(20):
        short = np.abs(sizes - lo) <= np.abs(sizes - hi)
        lo, hi = float(sizes[short].mean()), float(sizes[~short].mean()) if (~short).any() else hi
    return [(step, loss, "smiles" if s else "svg") for (step, loss, _), s in zip(points, short)]


def plot(sft_log: list[dict], virl_log: list[dict], path: Path, langs: tuple[str, ...] = LANGS, mixed_batches: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    # Two languages of clearly different answer lengths are told apart by tokens a step; more, or batches that
    # hold every language (``balance_languages``), are drawn as one.
    one_each = len(langs) == 2 and not mixed_batches
    steps = step_languages(sft_log) if one_each else [(e["step"], e["loss"], "all") for e in sft_log if "loss" in e]
    for lang in sorted({p[2] for p in steps}):
        a.plot(*zip(*[(step, loss) for step, loss, which in steps if which == lang]), lw=0.8, label=f"SFT loss (answer tokens), {lang} batches")
    a.set_xlabel("SFT step")
    a.set_ylabel("loss")
    a.set_yscale("log")
    a.legend()
    for lang in langs:
        key = f"reward/visual/{lang}"
        points = [(e["step"], e[key]) for e in virl_log if key in e]
        if points:
            b.plot(*zip(*points), marker=".", label=f"visual reward, {lang}")
    b.set_xlabel("ViRL step")
    b.set_ylabel("reward")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def paired_gain(before: list[float], after: list[float], seed: int = 0) -> tuple[float, float]:
    """Mean of ``after - before`` over the same rows and the lower end of its bootstrap 95% interval."""
    diffs = [b - a for a, b in zip(before, after)]
    return (float(np.mean(diffs)) if diffs else 0.0), bootstrap_low(diffs, seed)


def judge_canary(result: dict, seed: int = 0) -> dict:
    """Each language's verdict on the canary criteria (see ``CANARY_MIN_EXEC_GAIN`` above), with its figures."""
    stages = result["stages"]
    verdict = {}
    for lang in stages["init"]:
        init, sft, virl = stages["init"][lang], stages["sft"][lang], stages["virl"][lang]
        gain, gain_low = paired_gain(sft["rewards"], virl["rewards"], seed)
        verdict[lang] = {
            "gap_ci_low": virl["gap_ci_low"], "gap": virl["gap_ci_low"] > 0,
            "exec_gain": virl["exec"] - init["exec"], "exec": virl["exec"] - init["exec"] >= CANARY_MIN_EXEC_GAIN,
            "virl_gain": gain, "virl_gain_ci_low": gain_low, "virl_over_sft": gain_low > 0,
        }
        verdict[lang]["pass"] = verdict[lang]["gap"] and verdict[lang]["exec"] and verdict[lang]["virl_over_sft"]
    return verdict


def print_table(result: dict) -> None:
    second = any("reward_2" in m for langs in result["stages"].values() for m in langs.values())
    print(f"{'stage':<6} {'lang':<7} {'n':>4} {'format':>7} {'exec':>6} {'own':>6} {'shuf':>6} {'gap_lo':>7} "
          f"{'novel':>6} {'distinct':>8} {'exact':>6} {'reward':>7}{' reward2' if second else ''} {'nll_own':>8} {'nll_shuf':>8} {'nll_gap_lo':>10}")
    for stage, langs in result["stages"].items():
        for lang, m in langs.items():
            extra = f" {m.get('reward_2', 0.0):>7.3f}" if second else ""
            print(f"{stage:<6} {lang:<7} {m['n']:>4} {m['format']:>7.2f} {m['exec']:>6.2f} {m['own']:>6.3f} {m['shuffled']:>6.3f} "
                  f"{m['gap_ci_low']:>7.3f} {m['novel']:>6.2f} {m['distinct']:>8.2f} {m['exact']:>6.2f} {m['reward']:>7.3f}{extra} "
                  f"{m['nll_own']:>8.3f} {m['nll_shuffled']:>8.3f} {m['nll_gap_ci_low']:>10.3f}")
    for stage, langs in result.get("virl_prompts", {}).items():
        print(f"mean reward on the ViRL prompts, {stage}: " + ", ".join(f"{lang} {v:.4f}" for lang, v in langs.items()))
    for lang, v in result.get("virl_gain", {}).items():
        print(f"ViRL - SFT reward on the test rows, {lang}: {v['mean']:+.4f} (95% interval low {v['ci_low']:+.4f})")
    for lang, v in result.get("criteria", {}).items():
        print(f"canary {lang}: {'PASS' if v['pass'] else 'FAIL'} -- gap_ci_low {v['gap_ci_low']:+.3f} ({'ok' if v['gap'] else 'no'}), "
              f"exec gain {v['exec_gain']:+.2f} ({'ok' if v['exec'] else 'no'}), ViRL gain interval low "
              f"{v['virl_gain_ci_low']:+.4f} ({'ok' if v['virl_over_sft'] else 'no'})")


def markdown(result: dict) -> str:
    """The README's table of a run (written beside OUT.json as OUT.md): the command's output, not a retyped copy."""
    lines = ["| stage | lang | n | format | exec | own | shuffled | gap CI low | novel | distinct | exact | reward | "
             "answer NLL own / other image | NLL gap CI low |", "|" + "---|" * 14]
    for stage, langs in result["stages"].items():
        for lang, m in langs.items():
            lines.append(f"| {stage} | {lang} | {m['n']} | {m['format']:.2f} | {m['exec']:.2f} | {m['own']:.3f} | {m['shuffled']:.3f} | "
                         f"{m['gap_ci_low']:.3f} | {m['novel']:.2f} | {m['distinct']:.2f} | {m['exact']:.2f} | {m['reward']:.3f} | "
                         f"{m['nll_own']:.3f} / {m['nll_shuffled']:.3f} | {m['nll_gap_ci_low']:.3f} |")
    lines.append("")
    for lang, v in result.get("virl_gain", {}).items():
        lines.append(f"- ViRL − SFT greedy reward on the {lang} test rows: {v['mean']:+.4f} (95% interval low {v['ci_low']:+.4f})")
    for lang, v in result.get("criteria", {}).items():
        lines.append(f"- canary {lang}: **{'PASS' if v['pass'] else 'FAIL'}** — gap CI low {v['gap_ci_low']:+.3f} "
                     f"({'met' if v['gap'] else 'not met'}), execution {v['exec_gain']:+.2f} over init "
                     f"({'met' if v['exec'] else 'not met'}), ViRL gain CI low {v['virl_gain_ci_low']:+.4f} "
                     f"({'met' if v['virl_over_sft'] else 'not met'})")
    lines.append(f"- seed {result.get('seed')}: {result.get('sft_steps')} SFT + {result.get('virl_steps')} GRPO steps, "
                 f"{result.get('minutes')} min, 1-minute load average at the end {result.get('load_avg', [0])[0]:.1f}")
    return "\n".join(lines) + "\n"


def require_device(device: str) -> None:
    """Stop at once, in one line, when a profile needs CUDA and this machine has none."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("error: this profile trains on a CUDA GPU and torch sees none here "
                             "(build its corpus on a CPU machine with --corpus-only, then run it where a GPU is)")


def build_also_reward(spec: str | None, out: Path, profile: Profile):
    """The second reward scored beside the table's: ``dinov2-large-shaped`` is a random DINOv2 of dinov2-large's
    size (24 layers, width 1,024): the real encoder's cost, without its weights (none can be downloaded here)."""
    if spec is None:
        return None
    from training.rewards import RewardConfig, VisualCodeReward

    encoder = spec
    if spec == "dinov2-large-shaped":
        import torch
        from transformers import Dinov2Config, Dinov2Model

        from training.models import save_model

        folder = out / "dinov2-large-shaped"
        if not (folder / "config.json").exists():
            torch.manual_seed(0)
            save_model(Dinov2Model(Dinov2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                                intermediate_size=4096, image_size=518, patch_size=14)), folder)
        encoder = str(folder)
    return VisualCodeReward(RewardConfig(encoder=encoder, workers=profile.render_workers, timeout_s=10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpus and step counts (about 12 minutes)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None,
                        help="overrides --quick (canary: the controlled task with pass/fail criteria; gpu: one CUDA GPU; "
                             "smoke: a pipeline check)")
    parser.add_argument("--json", default=None, help="write the result here (and the plot beside it, .png)")
    parser.add_argument("--data", default=None, help="take this build folder instead of building one (needs sft, virl, test)")
    parser.add_argument("--workdir", default="runs/learning")
    parser.add_argument("--seed", type=int, default=0, help="corpus, model initialisation, training and evaluation")
    parser.add_argument("--corpus-only", action="store_true", help="build the corpus and the initial model, then stop")
    args = parser.parse_args()
    name = args.profile or ("quick" if args.quick else "full")
    profile = PROFILES[name]
    if not args.corpus_only:
        require_device(profile.device)
    out = Path(args.workdir) / f"{name}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timings = {}

    from filters.dedup import normalize_code
    from training.data import load_split
    from training.rewards import RewardConfig, VisualCodeReward
    from training.encoders import resolve_encoder

    t = time.monotonic()
    data = args.data or build_corpus(out, profile, args.seed)
    timings["corpus_s"] = round(time.monotonic() - t, 1)
    train_rows = load_split(data, "sft")
    counts = {lang: int(sum(1 for x in train_rows["lang"] if x == lang)) for lang in profile.langs}
    log(f"corpus {data}: sft rows {counts}")
    train_codes = {lang: set() for lang in profile.langs}
    for lang, code in zip(train_rows["lang"], train_rows["code"]):
        if lang in train_codes:
            train_codes[lang].add(normalize_code(lang, code))
    test_rows = held_out(data, "test", None, args.seed, profile.langs)
    virl_rows = {lang: rows for lang, rows in held_out(data, "virl", None, args.seed, profile.langs).items() if lang in profile.virl_langs}
    init_model = build_model(out, data, profile, args.seed)
    if args.corpus_only:
        log(f"corpus in {data}, initial model in {init_model}")
        return
    reward = VisualCodeReward(RewardConfig(encoder=resolve_encoder(profile.reward, out), workers=profile.render_workers, timeout_s=10))
    also = build_also_reward(profile.also_reward, out, profile)
    result = {"profile": {"name": name, **asdict(profile)}, "seed": args.seed, "data": data, "train_rows": counts, "stages": {},
              "virl_prompts": {}, "timings": timings}
    run = dict(device=profile.device, also=also)
    try:
        t = time.monotonic()
        # A random model never closes a fence: its answers are cut at INIT_TOKENS instead of the full budget.
        result["stages"]["init"] = evaluate(init_model, test_rows, train_codes, reward, args.seed, INIT_TOKENS, **run)
        timings["eval_init_s"] = round(time.monotonic() - t, 1)
        log("init evaluated")
        t = time.monotonic()
        sft = train("sft", data, init_model, out, {"split": "sft", "learning_rate": profile.sft_lr, "warmup_steps": profile.sft_warmup,
                                                     "length_buckets": not profile.balance_languages,
                                                     "balance_languages": profile.balance_languages,
                                                     "max_steps": profile.sft_steps,
                                                     "per_device_train_batch_size": profile.batch, "gradient_accumulation_steps": 1,
                                                     "logging_steps": 1, "seed": args.seed}, profile.device)
        timings["sft_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        result["stages"]["sft"] = evaluate(str(sft), test_rows, train_codes, reward, args.seed, **run)
        result["virl_prompts"]["sft"] = {lang: v["reward"] for lang, v in evaluate(str(sft), virl_rows, train_codes, reward, args.seed,
                                                                                   device=profile.device).items()}
        timings["eval_sft_s"] = round(time.monotonic() - t, 1)
        log("sft evaluated")
        budget = max(m["max_new_tokens"] for lang, m in result["stages"]["sft"].items() if lang in profile.virl_langs)
        t = time.monotonic()
        virl = train("virl", virl_prompts_folder(data, out, profile.virl_langs), str(sft), out, {
            "split": "virl", "learning_rate": profile.virl_lr, "warmup_steps": 0, "max_steps": profile.virl_steps,
            "per_device_train_batch_size": profile.virl_batch, "gradient_accumulation_steps": 1,
            "num_generations": profile.generations, "max_completion_length": budget, "temperature": 1.0,
            "beta": profile.virl_beta, "logging_steps": 1, "seed": args.seed,
            "reward": {"encoder": profile.reward, "workers": profile.render_workers, "timeout_s": 10}}, profile.device)
        timings["virl_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        result["stages"]["virl"] = evaluate(str(virl), test_rows, train_codes, reward, args.seed, **run)
        result["virl_prompts"]["virl"] = {lang: v["reward"] for lang, v in evaluate(str(virl), virl_rows, train_codes, reward, args.seed,
                                                                                    device=profile.device).items()}
        timings["eval_virl_s"] = round(time.monotonic() - t, 1)
    finally:
        reward.close()
        if also is not None:
            also.close()
    timings["total_s"] = round(time.monotonic() - started, 1)
    result["minutes"] = round(timings["total_s"] / 60, 1)
    result["virl_gain"] = {lang: dict(zip(("mean", "ci_low"), paired_gain(result["stages"]["sft"][lang]["rewards"],
                                                                        result["stages"]["virl"][lang]["rewards"], args.seed)))
                           for lang in result["stages"]["virl"]}
    if profile.criteria:
        result["criteria"] = judge_canary(result, args.seed)
        result["passed"] = all(v["pass"] for v in result["criteria"].values())
    sft_log, virl_log = history(out / "sft"), history(out / "virl")
    result["sft_steps"] = max((e.get("step", 0) for e in sft_log), default=0)
    result["virl_steps"] = max((e.get("step", 0) for e in virl_log), default=0)
    result["load_avg"] = os.getloadavg()
    print_table(result)
    print(json.dumps({**timings, "minutes": result["minutes"], "sft_steps": result["sft_steps"], "virl_steps": result["virl_steps"]}))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1))
        path.with_suffix(".md").write_text(markdown(result))
        plot(sft_log, virl_log, path.with_suffix(".png"), profile.langs, profile.balance_languages)
    if profile.criteria and not result["passed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
