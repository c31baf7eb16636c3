"""A training budget in minutes stops the run at the first step past it; batched generation equals one by one."""
from __future__ import annotations

import pytest

from training.config import TrainConfig

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)


def test_time_budget_stops_training(demo_corpus, tmp_path):
    from training.resume import train
    from training.sft import build_trainer

    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "run"), max_steps=5, max_minutes=1e-6)
    outcome = train(build_trainer(demo_corpus, cfg), cfg.output_dir, resume=False)
    assert outcome.message == f"trained to step 1; saved to {cfg.output_dir}"
    assert (tmp_path / "run" / "checkpoint-1").exists() and (tmp_path / "run" / "model.safetensors").exists()


def test_batched_generation_matches_row_by_row(demo_corpus, tmp_path):
    from training.data import load_split
    from training.eval import generate, pick_rows
    from training.models import build_tiny, load_model, load_processor

    path = str(build_tiny(tmp_path / "tiny"))
    model, processor = load_model(path), load_processor(path)
    rows = pick_rows(load_split(demo_corpus, "virl"), 3)
    one = generate(model, processor, rows, 6, progress=None)
    batched = generate(model, processor, rows, 6, progress=None, batch_size=3)
    assert batched == one and len(one) == 3
