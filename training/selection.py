"""``vinci select``: curated ViRL splits -- prompts the SFT model neither solves nor finds hopeless.

GRPO learns from the spread of rewards within a prompt's group of samples: a prompt the model
always solves, or never gets anywhere near, gives every sample the same advantage of zero. Each
candidate is therefore scored with ``K`` samples of the SFT model under the ViRL reward; a prompt is
kept when its mean reward lies in the band ``[lo, hi]`` and its samples disagree (standard deviation
above ``min_std``), then every language is capped at the same count (the smallest language's, or
``per_lang``), preferring the prompts whose samples disagree most.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .folders import ExtraColumn, FolderSpec, undecoded, write_folder

COLUMNS = [ExtraColumn("select_reward", "float64", "mean ViRL reward (0.9·visual + 0.1·format) of the K samples"),
           ExtraColumn("select_reward_std", "float64", "standard deviation of the K samples' rewards"),
           ExtraColumn("select_visual", "float64", "mean visual reward of the K samples")]


@dataclass
class Candidate:
    row: dict
    rewards: list[float]
    visuals: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.rewards))

    @property
    def std(self) -> float:
        return float(np.std(self.rewards))


@dataclass
class Selection:
    kept: list[Candidate]
    report: dict[str, dict[str, int]] = field(default_factory=dict)


def parse_band(text: str) -> tuple[float, float]:
    lo, sep, hi = text.partition(":")
    try:
        band = (float(lo), float(hi))
    except ValueError:
        band = None
    if not sep or band is None or not 0 <= band[0] <= band[1] <= 1:
        raise ValueError(f"--band {text!r} must be LO:HI with 0 <= LO <= HI <= 1, e.g. 0.2:0.8")
    return band


def choose(candidates: list[Candidate], band: tuple[float, float], min_std: float = 1e-6,
           per_lang: int | None = None, seed: int = 0) -> Selection:
    """Band and spread filter, then the same count per language (most disagreeing samples first)."""
    lo, hi = band
    by_lang: dict[str, list[Candidate]] = defaultdict(list)
    report: dict[str, dict[str, int]] = defaultdict(lambda: {"candidates": 0, "in_band": 0, "kept": 0})
    for c in candidates:
        lang = c.row["lang"]
        report[lang]["candidates"] += 1
        if lo <= c.mean <= hi and c.std > min_std:
            report[lang]["in_band"] += 1
            by_lang[lang].append(c)
    counts = [len(v) for v in by_lang.values() if v]
    cap = per_lang if per_lang is not None else (min(counts) if counts else 0)
    rng = random.Random(seed)
    kept = []
    for lang in sorted(by_lang):
        pool = by_lang[lang][:]
        rng.shuffle(pool)
        pool.sort(key=lambda c: -c.std)
        kept.extend(pool[:cap])
        report[lang]["kept"] = min(cap, len(pool))
    return Selection(kept, dict(sorted(report.items())))


def score_candidates(data: str, split: str, model_id: str, k: int, workdir: str, reward, temperature: float = 1.0,
                     max_new_tokens: int | None = None, limit: int | None = None, seed: int = 0) -> list[Candidate]:
    """K sampled completions per generate row of the split, each scored with the ViRL reward."""
    from .data import load_split
    from .eval import auto_max_new_tokens, generate, pick_rows, score
    from .models import load_model, load_processor, resolve

    rows = pick_rows(undecoded(load_split(data, split)), limit, seed)
    path = resolve(model_id, workdir)
    model, processor = load_model(path), load_processor(path)
    budget = max_new_tokens or auto_max_new_tokens(processor.tokenizer, rows)
    completions = generate(model, processor, rows, budget, samples=k, temperature=temperature, progress="sample")
    flat_rows = [row for row, group in zip(rows, completions) for _ in group]
    scored = score(flat_rows, [c for group in completions for c in group], reward)
    candidates, i = [], 0
    for row, group in zip(rows, completions):
        parts = [s.parts for s in scored[i:i + len(group)]]
        i += len(group)
        candidates.append(Candidate(row, [p["total"] for p in parts], [p["visual"] for p in parts]))
    return candidates


def write_selection(selection: Selection, out: str, provenance: dict) -> dict[str, int]:
    rows = [{**c.row, "select_reward": c.mean, "select_reward_std": c.std, "select_visual": float(np.mean(c.visuals))}
            for c in selection.kept]
    spec = FolderSpec(
        title="curated ViRL prompts",
        description=("ViRL prompts kept because the SFT model's samples neither all solve them nor all fail them: mean "
                     "reward within the band and samples that disagree, balanced per language."),
        provenance={**provenance, "report": selection.report}, extra_columns=COLUMNS)
    return write_folder(out, {"virl": rows}, spec)
