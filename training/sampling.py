"""Length buckets for SFT: each batch holds rows of similar length, and the batches come in random order.

A corpus of short answers (SMILES, ~25 tokens) and long ones (SVG, ~200) padded together costs each short row
the long one's length. ``transformers``' ``group_by_length`` sorts rows within mega-batches of 50 batches and
keeps that order, so a small model sees 25 long-answer batches in a row and then 25 short ones, and forgets
one language while it learns the other; here the batches are shuffled after grouping.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class LengthBuckets(Sampler[int]):
    """Indices whose every ``batch_size`` consecutive run is one bucket of similar ``lengths``; a new order each pass.

    Rows are shuffled, cut into pools of ``pool_batches`` batches, sorted by length within a pool and cut into
    batches; the full batches are then shuffled across pools, and a short last batch goes last (so the
    DataLoader's runs of ``batch_size`` stay aligned with the buckets)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, pool_batches: int = 50):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.pool = max(1, pool_batches) * batch_size
        self.passes = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def batches(self) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.passes)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        full, short = [], []
        for start in range(0, len(order), self.pool):
            pool = sorted(order[start:start + self.pool], key=lambda i: self.lengths[i])
            for b in range(0, len(pool), self.batch_size):
                (full if len(pool[b:b + self.batch_size]) == self.batch_size else short).append(pool[b:b + self.batch_size])
        shuffled = [full[i] for i in torch.randperm(len(full), generator=generator).tolist()]
        return shuffled + short

    def __iter__(self) -> Iterator[int]:
        batches = self.batches()
        self.passes += 1
        return (i for batch in batches for i in batch)


def with_length_buckets(trainer_class):
    """``trainer_class`` whose training batches come from ``LengthBuckets`` over the dataset's ``length`` column."""

    class LengthBucketed(trainer_class):
        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            return LengthBuckets(dataset["length"], self.args.train_batch_size, self.args.seed)

    return LengthBucketed
