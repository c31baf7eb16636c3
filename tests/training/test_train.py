"""Two SFT steps and two GRPO steps of a tiny random Qwen2-VL on real corpus rows change the weights."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from training.config import TrainConfig
from training.data import grpo_dataset, sft_dataset
from training.prompts import GENERATE

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)


def weights(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_rows_become_trl_conversations(demo_corpus):
    sft = sft_dataset(demo_corpus, "sft")
    tasks = {("optimize" if len(r["images"]) > 1 or "below" in r["prompt"][0]["content"][-1]["text"] else "generate") for r in sft}
    assert tasks == {"generate", "optimize"}
    row = sft[0]
    assert [m["role"] for m in row["prompt"]] == ["user"] and [m["role"] for m in row["completion"]] == ["assistant"]
    assert row["completion"][0]["content"][0]["text"].startswith("```")
    assert sum(part["type"] == "image" for part in row["prompt"][0]["content"]) == len(row["images"])
    grpo = grpo_dataset(demo_corpus, "virl")
    assert len(grpo) == 6 and set(grpo.column_names) == {"prompt", "image", "lang", "solution", "render"}
    assert set(grpo["render"]) == {"{}"}  # the demo's rows are drawn with vinci's defaults
    assert grpo[0]["prompt"][0]["content"][-1]["text"] == GENERATE[grpo[0]["lang"]]


def test_two_sft_steps_change_the_weights(demo_corpus, tmp_path):
    from training.sft import build_trainer

    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "sft"))
    trainer = build_trainer(demo_corpus, cfg)
    before = weights(trainer.model)
    trainer.train()
    assert trainer.state.global_step == 2
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())
    assert (tmp_path / "sft" / "checkpoint-2").exists()


def test_sft_labels_the_answer_and_nothing_of_the_prompt(demo_corpus, tmp_path):
    """Only the answer is trained on: never the picture placeholders (an image position trained to predict the next
    <|image_pad|> pulls all pictures' vision tokens to one vector: the canary's picture-blind SFT), never the
    instruction, and never an optimize row's flawed code (which the model would otherwise learn to write)."""
    from training.sft import VISION_TOKENS, build_trainer

    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "sft"))
    trainer = build_trainer(demo_corpus, cfg)
    examples = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    picked = [e for e in examples if len(e["images"]) == 2][:2] + [e for e in examples if len(e["images"]) == 1][:2]
    answers = [e["completion"][0]["content"][0]["text"] for e in picked]
    batch = trainer.data_collator(picked)
    tokenizer = trainer.processing_class.tokenizer
    vision = torch.tensor(tokenizer.convert_tokens_to_ids(list(VISION_TOKENS)))
    placeholders = torch.isin(batch["input_ids"], vision)
    assert placeholders.sum() >= 6 * 3 and "pixel_values" in batch
    assert (batch["labels"][placeholders] == -100).all()
    for i, answer in enumerate(answers):
        labelled = batch["labels"][i][batch["labels"][i] != -100]
        assert tokenizer.decode(labelled) == answer + "<|im_end|>\n"


def test_two_grpo_steps_change_the_weights(demo_corpus, tmp_path, tiny_dinov2, service):
    from training.rewards import RewardConfig, VisualCodeReward
    from training.virl import build_trainer

    calls = []

    def distinct_tokens(completions, **kwargs):
        """A second, shaping reward so a random policy sees reward variance."""
        calls.append(set(kwargs) >= {"lang", "image"})
        return [len(set(str(c))) / 50 for c in completions]

    cfg = TrainConfig.load("training/configs/tiny-virl.yaml", output_dir=str(tmp_path / "virl"))
    reward = VisualCodeReward(RewardConfig(encoder=tiny_dinov2), service=service)
    trainer, _ = build_trainer(demo_corpus, cfg, reward=reward, extra_rewards=[distinct_tokens], extra_weights=[1.0])
    before = weights(trainer.model)
    trainer.train()
    assert trainer.state.global_step == 2 and calls and all(calls)
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert {"rewards/visual/mean", "rewards/format/mean"} <= logged
    assert any(k.startswith("reward/visual/") for k in logged)


@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_eval_reports_per_language(demo_corpus, tmp_path, tiny_dinov2):
    """No --split: the corpus has no ``test``, so ``virl``; -n 3 draws one row of each of its three languages."""
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "eval", "--data", demo_corpus,
                           "--model", "tiny:qwen2-vl", "-n", "3", "--output", str(tmp_path / "eval"), "--encoder", tiny_dinov2,
                           "--max-new-tokens", "8"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    table = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert {lang: m["n"] for lang, m in table.items()} == {"python": 1, "smiles": 1, "svg": 1}
    assert all({"format", "execution", "visual", "coarse", "fine", "ssim"} <= set(m) for m in table.values())
    assert (tmp_path / "eval" / "sheet.png").exists() and "generate: 100%" in done.stderr
    assert len((tmp_path / "eval" / "outputs.jsonl").read_text().splitlines()) == 3
