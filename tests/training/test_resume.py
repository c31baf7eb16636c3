"""``--resume`` restores weights, optimizer, scheduler and step; a finished run resumes as a no-op."""
from __future__ import annotations

import shutil

import pytest
import torch
from transformers import TrainerCallback

from training.config import TrainConfig
from training.resume import run_state, train

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)


class WeightsAtStart(TrainerCallback):
    def __init__(self):
        self.weights = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.weights = {n: p.detach().clone() for n, p in model.named_parameters()}


def saved_weights(folder) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForImageTextToText

    return dict(AutoModelForImageTextToText.from_pretrained(str(folder)).named_parameters())


def assert_same(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=atol, rtol=0), name


def test_resume_restores_weights_optimizer_and_step(demo_corpus, tmp_path):
    from training.sft import build_trainer

    full = tmp_path / "full"
    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(full))
    outcome = train(build_trainer(demo_corpus, cfg), full, resume=False)
    assert run_state(full).step == 2 and "to step 2" in outcome.message

    cut = tmp_path / "cut"
    shutil.copytree(full, cut)
    shutil.rmtree(cut / "checkpoint-2")
    (cut / "model.safetensors").unlink()
    trainer = build_trainer(demo_corpus, TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(cut)))
    start = WeightsAtStart()
    trainer.add_callback(start)
    outcome = train(trainer, cut, resume=True)
    assert outcome.message.startswith("resumed from checkpoint-1 (step 1) to step 2")
    assert_same(start.weights, saved_weights(full / "checkpoint-1"))
    # The resumed second step (restored Adam moments, scheduler, data position) lands where the uninterrupted one did.
    assert_same(saved_weights(cut), saved_weights(full / "checkpoint-2"), atol=1e-6)
    assert not (cut / "checkpoint-3").exists()


def test_finished_run_resumes_as_a_no_op(demo_corpus, tmp_path):
    from training.sft import build_trainer

    out = tmp_path / "run"
    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(out))
    train(build_trainer(demo_corpus, cfg), out, resume=False)
    before = (out / "model.safetensors").read_bytes()
    outcome = train(build_trainer(demo_corpus, cfg), out, resume=True)
    assert "already finished at step 2 of 2" in outcome.message
    assert (out / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
