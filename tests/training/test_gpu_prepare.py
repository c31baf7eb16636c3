"""``benchmarks/gpu_prepare.py`` makes what ``gpu_check.py`` reads: pairs, prompts and a processor folder.

(Here rather than under tests/benchmarks/ because it builds on the training corpus fixture.)"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from gpu_prepare import prepare  # noqa: E402


def test_prepare_makes_the_gpu_check_inputs(demo_corpus, tmp_path):
    import pyarrow.parquet as pq
    from PIL import Image

    from training.data import to_grpo_example
    from training.models import load_processor

    summary = prepare(demo_corpus, str(tmp_path / "gpu"), pairs=20, prompts=3, vocab=800)
    assert summary["pairs"] == 20 and summary["prompts"] == 3
    pairs = pq.read_table(tmp_path / "gpu" / "pairs.parquet").to_pylist()
    assert all(p["target"] != p["render"] for p in pairs)
    assert all(Image.open(io.BytesIO(p["render"])).size[0] > 0 for p in pairs)
    prompts = pq.read_table(tmp_path / "gpu" / "prompts.parquet").to_pylist()
    assert sorted(p["lang"] for p in prompts) == ["python", "smiles", "svg"]
    processor = load_processor(str(tmp_path / "gpu" / "tok"))
    example = to_grpo_example({"lang": prompts[0]["lang"], "image": prompts[0]["target"], "code": prompts[0]["code"], "task": "generate"})
    text = processor.apply_chat_template(example["prompt"], add_generation_prompt=True)
    batch = processor(text=[text], images=[example["image"]], return_tensors="pt")
    assert batch["pixel_values"].shape[0] > 0 and batch["input_ids"].shape[1] > 10
