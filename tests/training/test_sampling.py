"""SFT batches of one length bucket each, in random order: the sampler and its use by ``vinci train sft``."""
from __future__ import annotations

from itertools import groupby

import pytest

from training.config import TrainConfig
from training.data import sft_dataset
from training.sampling import LengthBuckets

# Two languages of very different answer lengths, interleaved: short rows have even indices.
LENGTHS = [20 + (i % 5) if i % 2 == 0 else 400 + (i % 7) for i in range(203)]


def runs(order: list[int], size: int) -> list[list[int]]:
    return [order[i:i + size] for i in range(0, len(order), size)]


def test_every_batch_is_one_bucket_and_every_row_comes_once():
    order = list(LengthBuckets(LENGTHS, batch_size=8, seed=1, pool_batches=4))
    assert sorted(order) == list(range(len(LENGTHS)))
    mixed = [b for b in runs(order, 8) if len({i % 2 for i in b}) > 1]
    assert len(mixed) <= len(LENGTHS) // (8 * 4) + 1  # at most one straddling batch per pool


def test_bucket_order_is_shuffled_across_pools():
    """Sorting within pools and keeping that order would give runs of one language; shuffled batches alternate."""
    batches = runs(list(LengthBuckets(LENGTHS, batch_size=8, seed=0, pool_batches=10)), 8)
    langs = [b[0] % 2 for b in batches[:-1]]
    switches = sum(a != b for a, b in zip(langs, langs[1:]))
    assert switches >= len(langs) // 4
    assert max(len(list(run)) for _, run in groupby(langs)) < 10


def test_each_pass_has_a_new_order_and_the_seed_repeats_it():
    a, b = LengthBuckets(LENGTHS, 8, seed=3), LengthBuckets(LENGTHS, 8, seed=3)
    first = list(a)
    assert first == list(b)
    assert list(a) != first


@pytest.mark.renders
def test_length_counts_the_conversation_text(demo_corpus):
    rows = sft_dataset(demo_corpus, "sft")
    for row in rows:
        text = sum(len(part["text"] or "") for m in row["prompt"] + row["completion"] for part in m["content"] if part["type"] == "text")
        assert row["length"] == text


@pytest.mark.renders
def test_sft_trains_on_length_buckets(demo_corpus, tmp_path):
    from training.sft import build_trainer

    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "sft"), length_buckets=True)
    trainer = build_trainer(demo_corpus, cfg)
    sampler = trainer._get_train_sampler()
    assert isinstance(sampler, LengthBuckets) and sampler.lengths == trainer.train_dataset["length"]
    trainer.train()
    assert trainer.state.global_step == 2
    plain = build_trainer(demo_corpus, TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "plain")))
    assert not isinstance(plain._get_train_sampler(), LengthBuckets)
