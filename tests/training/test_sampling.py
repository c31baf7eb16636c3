"""SFT batches of one length bucket each, in random order: the sampler and its use by ``vinci train sft``."""
from __future__ import annotations

from itertools import groupby

import pytest

from training.config import TrainConfig
from training.data import sft_dataset
from training.sampling import BalancedLanguages, LengthBuckets

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


def test_balanced_batches_hold_each_language_in_equal_numbers():
    """150 SMILES rows beside 378 SVG rows (the canary's mix): 4 + 4 in every batch of 8, the SVG rows each once a
    pass, the SMILES rows drawn again rather than left short, and a new draw each pass."""
    groups = ["smiles"] * 150 + ["svg"] * 378
    sampler = BalancedLanguages(groups, batch_size=8, seed=0)
    first = list(sampler)
    assert len(first) == len(sampler) == 95 * 8  # ceil(378 / 4) batches
    for batch in runs(first, 8):
        assert sorted(groups[i] for i in batch) == ["smiles"] * 4 + ["svg"] * 4
    svg = [i for i in first if groups[i] == "svg"]
    assert len(svg) == 380 and set(svg) == set(range(150, 528))  # each once, and 2 drawn again to fill the last batch
    assert set(range(150)) <= set(first)
    assert list(sampler) != first
    assert list(BalancedLanguages(groups, 8, seed=0)) == first


def test_an_odd_batch_gives_the_remainder_to_each_language_in_turn():
    groups = ["a"] * 10 + ["b"] * 30 + ["c"] * 5
    batches = runs(list(BalancedLanguages(groups, batch_size=4, seed=0)), 4)
    counts = [sorted(groups[i] for i in b) for b in batches]
    assert all(len(set(c)) == 3 for c in counts)
    assert {tuple(c) for c in counts} == {("a", "a", "b", "c"), ("a", "b", "b", "c"), ("a", "b", "c", "c")}
    with pytest.raises(ValueError, match="cannot hold 3 languages"):
        BalancedLanguages(groups, batch_size=2)


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


@pytest.mark.renders
def test_sft_balances_languages_from_the_rows_own_language(demo_corpus, tmp_path):
    from training.sft import build_trainer

    cfg = TrainConfig.load("training/configs/tiny-sft.yaml", output_dir=str(tmp_path / "sft"), balance_languages=True)
    trainer = build_trainer(demo_corpus, cfg)
    sampler = trainer._get_train_sampler()
    langs = trainer.train_dataset["lang"]
    assert isinstance(sampler, BalancedLanguages)
    assert {lang: sorted(rows) for lang, rows in sampler.rows.items()} == {
        lang: [i for i, x in enumerate(langs) if x == lang] for lang in set(langs)}
    trainer.train()
    assert trainer.state.global_step == 2
