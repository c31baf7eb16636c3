"""``vinci export``: rows that trl's SFTTrainer and LLaVA-style trainers read without vinci's code."""
from __future__ import annotations

import json
import subprocess
import sys

import datasets
import pyarrow.parquet as pq
import pytest

from pipelines.export import ExportError, export
from tests.pipelines.conftest import ROOT

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)


def build_rows(folder):
    return [r for shard in sorted((folder / "data").glob("*.parquet")) for r in pq.read_table(shard).to_pylist()]


@pytest.fixture(scope="module")
def optimize_build(tmp_path_factory):
    """A small build with optimize rows (the session reference has none)."""
    from pipelines.build import Build
    from pipelines.manifest import load_manifest

    folder = tmp_path_factory.mktemp("opt")
    manifest = folder / "m.yaml"
    manifest.write_text(json.dumps({"name": "opt", "seed": 3, "sources": [{"source": "synthetic.svg", "n": 8}],
                                    "render": {"workers": 1}, "perturb": {"per_row": 1, "error_share": 0.4},
                                    "splits": {"virl": 2, "sft": "rest"}, "unit_rows": 8}))
    Build(load_manifest(manifest), folder / "out", workers=1, progress=False).run()
    return folder / "out"


def test_trl_rows_feed_the_vision_collator_of_sft_trainer(optimize_build, tmp_path):
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from training.models import build_tiny, load_processor

    out = tmp_path / "trl"
    counts = export(optimize_build, "trl", out)
    rows = build_rows(optimize_build)
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    virl = datasets.load_dataset(str(out), "virl", split="virl", cache_dir=str(tmp_path / "cache"))
    assert counts == {**{s: ds[s].num_rows for s in ds}, "virl": virl.num_rows} and sum(counts.values()) == len(rows)
    assert {"messages", "images"} <= set(ds["sft"].column_names)
    optimize = [r for r in ds["sft"] if r["task"] == "optimize"]
    assert optimize and any(len(r["images"]) == 2 for r in optimize)
    source = {r["id"]: r for r in rows}
    for example in optimize:
        assert example["messages"][1]["content"] == f"```svg\n{source[example['id']]['code'].rstrip()}\n```"
        assert source[example["id"]]["flawed_code"].rstrip() in example["messages"][0]["content"]
    processor = load_processor(str(build_tiny(tmp_path / "tiny")))
    collator = DataCollatorForVisionLanguageModeling(processor)
    batch = collator([ds["sft"][i] for i in range(len(ds["sft"]))][:4] + optimize[:1])
    image_token = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    images = sum(len(r["images"]) for r in [ds["sft"][i] for i in range(4)] + optimize[:1])
    assert batch["image_grid_thw"].shape[0] == images and (batch["input_ids"] == image_token).any()
    assert (batch["labels"] != -100).any()


def test_llava_json_and_images(optimize_build, tmp_path):
    out = tmp_path / "llava"
    counts = export(optimize_build, "llava", out)
    items = json.loads((out / "sft.json").read_text())
    assert len(items) == counts["sft"] and json.loads((out / "virl.json").read_text())
    for item in items:
        pictures = item["image"] if isinstance(item["image"], list) else [item["image"]]
        human, gpt = item["conversations"]
        assert human["from"] == "human" and gpt["from"] == "gpt" and gpt["value"].startswith("```svg\n")
        assert human["value"].count("<image>") == len(pictures) and all((out / p).is_file() for p in pictures)
    assert any(isinstance(i["image"], list) for i in items)
    assert len(list((out / "images").iterdir())) < sum(len(i["image"]) if isinstance(i["image"], list) else 1 for i in items)


def test_output_folder_is_never_mixed_or_half_written(optimize_build, tmp_path):
    out = tmp_path / "x"
    export(optimize_build, "llava", out)
    with pytest.raises(ExportError, match="exists and is not empty"):
        export(optimize_build, "trl", out)
    export(optimize_build, "trl", out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data"]
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    with pytest.raises(ExportError, match="overlap"):
        export(optimize_build, "trl", optimize_build / "export", force=True)
    with pytest.raises(ExportError, match="not a finished vinci build"):
        export(tmp_path, "trl", tmp_path / "y")


def test_cli_export_is_one_line(optimize_build, tmp_path):
    run = subprocess.run([sys.executable, "-m", "pipelines.cli", "export", str(optimize_build), "--format", "trl",
                          "-o", str(tmp_path / "e")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.startswith(f"wrote {tmp_path / 'e'} (trl): sft ")
    again = subprocess.run([sys.executable, "-m", "pipelines.cli", "export", str(optimize_build), "--format", "trl",
                            "-o", str(tmp_path / "e")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and again.stderr.startswith("error: ") and again.stderr.count("\n") == 1


@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_trl_virl_rows_are_prompts_that_grpo_trainer_takes(optimize_build, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    from training.data import as_image
    from training.models import build_tiny, load_model, load_processor
    from training.prompts import generate_prompt

    out = tmp_path / "trl"
    counts = export(optimize_build, "trl", out)
    virl = datasets.load_dataset(str(out), "virl", split="virl", cache_dir=str(tmp_path / "cache"))
    source = {r["id"]: r for r in build_rows(optimize_build)}
    assert counts["virl"] == len(virl) == 2
    assert set(virl.column_names) == {"id", "lang", "task", "prompt", "image", "solution"}
    for example in virl:
        row = source[example["id"]]
        assert example["prompt"] == [{"role": "user", "content": generate_prompt("svg")}]
        assert example["solution"] == f"```svg\n{row['code'].rstrip()}\n```"
        assert example["image"].size == as_image(row["image"]["bytes"]).size
    seen = []

    def reward(completions, image, solution, lang, **kwargs):
        seen.append((len(completions), [i.size for i in image], solution, lang))
        return [float(len(c) % 3) for c in completions]

    path = str(build_tiny(tmp_path / "tiny"))
    args = GRPOConfig(output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=8, use_cpu=True, report_to="none", logging_steps=1, save_strategy="no",
                      bf16=False)
    trainer = GRPOTrainer(model=load_model(path), reward_funcs=[reward], args=args, train_dataset=virl,
                          processing_class=load_processor(path))
    trainer.train()
    assert trainer.state.global_step == 1 and seen
    n, sizes, solutions, langs = seen[0]
    assert n == 2 and langs == ["svg", "svg"] and all(s.startswith("```svg\n") for s in solutions)
    assert all(size == virl[0]["image"].size or size == virl[1]["image"].size for size in sizes)
