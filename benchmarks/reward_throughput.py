"""ViRL reward throughput for one GRPO batch: 32 prompts × 8 completions, two ways side by side.

* serial -- each completion rendered on its own, one at a time, and its crops and its target's
  crops embedded in their own forward pass (no cache): what a straightforward reward does;
* vinci -- ``VisualCodeReward``: one parallel render batch through the warm pools, target
  embeddings cached, one encoder pass for all crops of the batch.

Completions are realistic: the reference code, perturbed code (vinci's perturbations, some
failing) and answers in the wrong language. The encoder is a random DINOv2 built from a config:
``--encoder tiny`` (CPU-sized) or ``--encoder large`` (DINOv2-large's shape, for a GPU).

    python benchmarks/reward_throughput.py [--prompts 32] [--per-prompt 8] [--encoder tiny|large] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.languages import LANGUAGES  # noqa: E402
from filters.render import RenderService  # noqa: E402
from pipelines.perturb.base import registry  # noqa: E402
from sources.base import open_source  # noqa: E402
from training.rewards import DinoEncoder, RewardConfig, VisualCodeReward, crops, extract_code, tile_grid  # noqa: E402


def encoder_for(kind: str) -> DinoEncoder:
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    if kind == "large":
        config = Dinov2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, patch_size=14)
    else:
        config = Dinov2Config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, patch_size=14)
    model = Dinov2Model(config)
    if torch.cuda.is_available():
        model = model.to(torch.bfloat16)
    return DinoEncoder("unused", model=model)


SOURCES = {name: lang.synthetic_source for name, lang in LANGUAGES.items()}  # language → its generator


def batch(prompts: int, per_prompt: int, service, langs: list[str]) -> tuple[list, list, list]:
    rng = random.Random(0)
    sources = [SOURCES[lang] for lang in langs]
    samples = [s for spec in sources for s in islice(open_source(spec, seed=9), prompts // len(sources) + 1)][:prompts]
    targets = [r.png for r in service.render_many([(s.lang, s.code) for s in samples])]
    completions, langs, target_list = [], [], []
    for sample, target in zip(samples, targets):
        kinds = list(registry(sample.lang).values())
        for k in range(per_prompt):
            if k == 0:
                code, lang = sample.code, sample.lang
            elif k == per_prompt - 1:
                code, lang = sample.code, "html" if sample.lang != "html" else "svg"
            else:
                code = rng.choice(kinds).apply(sample.code, rng) or sample.code
                lang = sample.lang
            completions.append(f"```{lang}\n{code}\n```")
            langs.append(sample.lang)
            target_list.append(target)
    return completions, langs, target_list


def serial(completions, langs, targets, encoder, timeout_s: float) -> float:
    """One render and two encoder passes per completion, nothing cached."""
    import io

    import torch
    from PIL import Image

    start = time.perf_counter()
    with RenderService(workers=1, timeout_s=timeout_s) as service:
        for completion, lang, target_png in zip(completions, langs, targets):
            code = extract_code(completion, lang)
            if code is None:
                continue
            result = service.render_many([(lang, code)])[0]
            if not result.ok:
                continue
            target = Image.open(io.BytesIO(target_png)).convert("RGB")
            grid = tile_grid(*target.size)
            mine = encoder.embed(crops(Image.open(io.BytesIO(result.png)), grid=grid, size=target.size, device=encoder.device))
            theirs = encoder.embed(crops(target, grid=grid, device=encoder.device))
            float(((mine * theirs).sum(-1) + 1).mean() / 2)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def pooled(completions, langs, targets, encoder, workers: int, timeout_s: float) -> float:
    with RenderService(workers=workers, timeout_s=timeout_s) as service:
        reward = VisualCodeReward(RewardConfig(timeout_s=timeout_s), service=service, encoder=encoder)
        reward.score(completions[:2], langs[:2], targets[:2])
        reward._targets.clear()
        start = time.perf_counter()
        reward.score(completions, langs, targets)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--per-prompt", type=int, default=8)
    parser.add_argument("--encoder", choices=["tiny", "large"], default="tiny")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--langs", default="python,svg,smiles,latex", help="languages of the prompts")
    args = parser.parse_args()
    encoder = encoder_for(args.encoder)
    with RenderService(workers=args.workers, timeout_s=args.timeout) as service:
        completions, langs, targets = batch(args.prompts, args.per_prompt, service, args.langs.split(","))
    n = len(completions)
    t_serial = serial(completions, langs, targets, encoder, args.timeout)
    t_pooled = pooled(completions, langs, targets, encoder, args.workers, args.timeout)
    print(f"batch: {args.prompts} prompts x {args.per_prompt} completions = {n}; encoder {args.encoder} on {encoder.device}; "
          f"{args.workers} render workers per language")
    print(f"{'path':<34} {'seconds':>8} {'rewards/s':>10}")
    print(f"{'serial renders + uncached embeds':<34} {t_serial:>8.1f} {n / t_serial:>10.1f}")
    print(f"{'pooled renders + cached, batched':<34} {t_pooled:>8.1f} {n / t_pooled:>10.1f}")
    print(f"speed-up: {t_serial / t_pooled:.1f}x")


if __name__ == "__main__":
    main()
