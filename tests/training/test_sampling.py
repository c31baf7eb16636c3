"""SFT batches grouped by answer length: the sampler reads each conversation's text length."""
from __future__ import annotations

from training.config import TrainConfig
from training.data import sft_dataset


def test_length_counts_the_conversation_text(demo_corpus):
    rows = sft_dataset(demo_corpus, "sft")
    for row in rows:
        text = sum(len(part["text"] or "") for m in row["messages"] for part in m["content"] if part["type"] == "text")
        assert row["length"] == text
    by_lang = {}
    for row in rows:
        by_lang.setdefault(row["messages"][1]["content"][0]["text"].split("\n")[0], []).append(row["length"])
    assert min(by_lang["```svg"]) > max(by_lang["```smiles"])


def test_group_by_length_samples_by_that_length(demo_corpus, tmp_path):
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from training.sft import build_trainer

    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "sft"), train_sampling_strategy="group_by_length")
    trainer = build_trainer(demo_corpus, cfg)
    sampler = trainer._get_train_sampler()
    assert isinstance(sampler, LengthGroupedSampler)
    assert list(sampler.lengths) == trainer.train_dataset["length"]
    assert sorted(sampler) == list(range(len(trainer.train_dataset)))
    trainer.train()
    assert trainer.state.global_step == 2


def test_random_sampling_stays_the_default(demo_corpus, tmp_path):
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from training.sft import build_trainer

    trainer = build_trainer(demo_corpus, TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "sft")))
    assert not isinstance(trainer._get_train_sampler(), LengthGroupedSampler)
