"""Length buckets for SFT: each batch holds rows of similar length, and the batches come in random order.

A corpus of short answers (SMILES, ~25 tokens) and long ones (SVG, ~200) padded together costs each short row
the long one's length. ``transformers``' ``group_by_length`` sorts rows within mega-batches of 50 batches and
keeps that order, so a small model sees 25 long-answer batches in a row and then 25 short ones, and forgets
one language while it learns the other; here the batches are shuffled after grouping.

``BalancedLanguages`` is the other choice: every batch holds each language in equal numbers, a rarer language's
rows drawn again (a fresh shuffle each time) to keep up. Measured on the canary (150 SMILES rows beside 378 SVG
rows, a 1.5 M model from scratch), each way for 1,000-1,500 steps: proportional one-language batches left SMILES
answers one molecule for every picture; balanced one-language batches (as many SMILES as SVG batches) made SMILES
depend on the picture and SVG stop; only batches holding both languages made both depend on it.
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


class BalancedLanguages(Sampler[int]):
    """Indices whose every ``batch_size`` consecutive run holds each group (language) in equal numbers (the first
    groups in turn take the remainder); a pass lasts until the largest group has been drawn once."""

    def __init__(self, groups: Sequence[str], batch_size: int, seed: int = 0):
        self.rows: dict[str, list[int]] = {}
        for i, group in enumerate(groups):
            self.rows.setdefault(group, []).append(i)
        if batch_size < len(self.rows):
            raise ValueError(f"a batch of {batch_size} cannot hold {len(self.rows)} languages")
        self.batch_size = batch_size
        self.seed = seed
        self.passes = 0
        self.share = batch_size // max(1, len(self.rows))

    def __len__(self) -> int:
        return self._batches() * self.batch_size

    def _batches(self) -> int:
        return max((len(rows) + self.share - 1) // self.share for rows in self.rows.values()) if self.rows else 0

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.passes)
        self.passes += 1
        names = sorted(self.rows)
        streams = {name: self._stream(self.rows[name], generator) for name in names}
        extra = self.batch_size - self.share * len(names)
        for b in range(self._batches()):
            bonus = {names[(b + k) % len(names)] for k in range(extra)}
            for name in names:
                for _ in range(self.share + (name in bonus)):
                    yield next(streams[name])

    @staticmethod
    def _stream(rows: list[int], generator) -> Iterator[int]:
        while True:
            for i in torch.randperm(len(rows), generator=generator).tolist():
                yield rows[i]


def with_sampler(trainer_class, sampler_class: type[LengthBuckets] | type[BalancedLanguages], column: str):
    """``trainer_class`` whose training batches come from ``sampler_class`` over the dataset's ``column``
    (``LengthBuckets`` over ``length``, ``BalancedLanguages`` over ``lang``)."""

    class Sampled(trainer_class):
        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            return sampler_class(dataset[column], self.args.train_batch_size, self.args.seed)

    return Sampled
