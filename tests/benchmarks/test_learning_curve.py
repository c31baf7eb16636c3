"""The learning benchmark's measures: own-vs-shuffled similarity and the bootstrap bound on the gap."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import learning_curve as lc  # noqa: E402
from training.answers import judge  # noqa: E402
from training.eval import Scored  # noqa: E402

MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "C1CCCCC1", "OC(=O)CCC(=O)O"]


def scored_answers(rows, answers):
    return [Scored(row, f"```smiles\n{a}\n```", judge(f"```smiles\n{a}\n```", "smiles"), b"png", None, {}) for row, a in zip(rows, answers)]


def test_reading_the_image_shows_as_a_gap_and_copying_does_not():
    rows = [{"code": m} for m in MOLECULES]
    own, shuffled = lc.own_and_shuffled("smiles", rows, scored_answers(rows, MOLECULES))
    assert own == [1.0] * 6 and max(shuffled) < 0.5
    assert lc.bootstrap_low([a - b for a, b in zip(own, shuffled)]) > 0.4
    copied = scored_answers(rows, [MOLECULES[2]] * 6)
    own, shuffled = lc.own_and_shuffled("smiles", rows, copied)
    assert lc.bootstrap_low([a - b for a, b in zip(own, shuffled)]) < 0


def test_bootstrap_low_bounds_the_mean_from_below():
    diffs = [0.1, 0.2, 0.3, 0.0, 0.15, 0.25] * 5
    assert 0.0 < lc.bootstrap_low(diffs) < sum(diffs) / len(diffs)
    assert lc.bootstrap_low([]) == 0.0


def stage(exec_rate, gap_low, rewards):
    return {"exec": exec_rate, "gap_ci_low": gap_low, "rewards": rewards}


def test_canary_criteria_need_all_three_on_every_language():
    good = {"init": stage(0.0, 0.0, [0.0] * 20), "sft": stage(0.9, 0.05, [0.5] * 20), "virl": stage(0.95, 0.06, [0.6, 0.7] * 10)}
    flat = {**good, "virl": stage(0.95, 0.06, [0.5, 0.6, 0.4, 0.5] * 5)}
    copying = {**good, "virl": stage(1.0, -0.01, [0.6, 0.7] * 10)}
    verdict = lc.judge_canary({"stages": {s: {"svg": good[s], "smiles": flat[s]} for s in good}})
    assert verdict["svg"]["pass"] and verdict["svg"]["virl_gain"] > 0.1
    assert not verdict["smiles"]["pass"] and not verdict["smiles"]["virl_over_sft"] and verdict["smiles"]["gap"]
    assert not lc.judge_canary({"stages": {s: {"svg": copying[s]} for s in good}})["svg"]["gap"]
    weak = {**good, "virl": stage(0.4, 0.06, [0.6, 0.7] * 10)}
    assert not lc.judge_canary({"stages": {s: {"svg": weak[s]} for s in good}})["svg"]["exec"]


def test_profiles_fix_steps_not_minutes():
    for name, profile in lc.PROFILES.items():
        assert profile.sft_steps > 0 and profile.virl_steps > 0, name
        assert not any("minutes" in f for f in vars(profile)), name


def test_canary_corpus_restricts_vinci_generators_through_the_manifest():
    from pipelines.manifest import Manifest

    manifest = Manifest(**lc.corpus_manifest(lc.PROFILES["canary"], seed=1))
    options = {entry.source: entry.options for entry in manifest.sources}
    assert options["synthetic.svg"]["kinds"] == ["grid"] and options["synthetic.smiles"]["family"] == "simple"
    assert manifest.seed == 1 and manifest.dedup.phash_radius == 0


def test_gpu_profile_is_tens_of_millions_of_parameters_on_all_languages():
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    profile = lc.PROFILES["gpu"]
    shape = lc.model_shape(profile)
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=profile.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                         num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                         rope_scaling={"type": "mrope", "mrope_section": shape.mrope_section()}),
        vision_config=dict(depth=shape.vision_depth, embed_dim=shape.vision_width, hidden_size=shape.hidden,
                           num_heads=shape.vision_heads, mlp_ratio=2, patch_size=14, spatial_merge_size=2))
    with torch.device("meta"):
        params = sum(p.numel() for p in Qwen2VLForConditionalGeneration(config).parameters())
    assert 20e6 < params < 100e6
    assert set(profile.langs) == set(lc.ALL_LANGS) and profile.also_reward and profile.reward == "pixel"


def test_gpu_profile_fails_in_one_line_without_cuda(tmp_path):
    import subprocess

    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here: the profile would run")
    done = subprocess.run([sys.executable, str(Path(lc.__file__)), "--profile", "gpu", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "CUDA" in done.stderr and "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_markdown_table_has_a_row_per_stage_and_language_and_the_verdict():
    m = {"n": 4, "format": 1.0, "exec": 1.0, "own": 0.5, "shuffled": 0.2, "gap_ci_low": 0.1, "novel": 0.5, "distinct": 1.0,
         "exact": 0.25, "reward": 0.7, "nll_own": 1.0, "nll_shuffled": 1.2, "nll_gap_ci_low": 0.05, "rewards": [0.7] * 4}
    result = {"stages": {s: {"svg": m, "smiles": m} for s in ("init", "sft", "virl")}, "seed": 1, "sft_steps": 10,
              "virl_steps": 2, "minutes": 1.0, "load_avg": [3.0, 2.0, 1.0]}
    result["virl_gain"] = {"svg": {"mean": 0.0, "ci_low": 0.0}}
    result["criteria"] = lc.judge_canary(result)
    text = lc.markdown(result)
    assert text.count("| virl | ") == 2 and "**FAIL**" in text and "seed 1: 10 SFT + 2 GRPO steps" in text
