"""Prepare the inputs of ``benchmarks/gpu_check.py`` from a build folder, on the CPU side.

The GPU machine has no renderers (Chromium, TeX, RDKit, cairosvg) and no network, so everything it
needs is made here and carried there:

* ``pairs.parquet`` -- (target, render) PNG pairs for the reward's throughput: the optimize rows'
  (image, flawed render) first, then same-language pairs of different rows to reach ``--pairs``;
* ``prompts.parquet`` -- ViRL prompts (lang, target PNG, reference code), evenly across languages;
* ``tok/`` -- a processor folder: a byte-level BPE trained on the build's code with Qwen's special
  tokens, and Qwen2-VL's image processor.

    python benchmarks/gpu_prepare.py --data out/demo --out .gpu
    python benchmarks/gpu_check.py --pairs .gpu/pairs.parquet --prompts .gpu/prompts.parquet --tokenizer .gpu/tok
"""
from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def image_bytes(cell) -> bytes | None:
    return cell.get("bytes") if isinstance(cell, dict) else cell


def read_split(folder: Path, split: str) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for shard in sorted((folder / "data").glob(f"{split}-*.parquet")):
        rows.extend(pq.read_table(shard, columns=["id", "task", "lang", "code", "image", "flawed_image"]).to_pylist())
    return rows


def make_pairs(rows: list[dict], n: int, seed: int = 0) -> list[dict]:
    """Realistic (target, render) pairs: perturbed renders first, then other rows of the same language."""
    rng = random.Random(seed)
    pairs = [{"lang": r["lang"], "target": image_bytes(r["image"]), "render": image_bytes(r["flawed_image"])}
             for r in rows if r["task"] == "optimize" and r["flawed_image"] is not None]
    rng.shuffle(pairs)
    by_lang = defaultdict(list)
    for r in rows:
        if r["task"] == "generate":
            by_lang[r["lang"]].append(image_bytes(r["image"]))
    langs = sorted(lang for lang, images in by_lang.items() if len(images) > 1)
    while len(pairs) < n and langs:
        lang = langs[len(pairs) % len(langs)]
        a, b = rng.sample(by_lang[lang], 2)
        pairs.append({"lang": lang, "target": a, "render": b})
    return pairs[:n]


def make_prompts(rows: list[dict], n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    by_lang = defaultdict(list)
    for r in rows:
        if r["task"] == "generate":
            by_lang[r["lang"]].append({"lang": r["lang"], "target": image_bytes(r["image"]), "code": r["code"]})
    for items in by_lang.values():
        rng.shuffle(items)
    prompts: list[dict] = []
    while len(prompts) < n and any(by_lang.values()):
        for lang in sorted(by_lang):
            if by_lang[lang] and len(prompts) < n:
                prompts.append(by_lang[lang].pop())
    return prompts


def write_rows(rows: list[dict], path: Path) -> None:
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pylist(rows), tmp)
    os.replace(tmp, path)


def prepare(data: str, out: str, pairs: int = 256, prompts: int = 64, vocab: int = 8000, seed: int = 0) -> dict:
    from training.models import code_tokenizer, save_processor_folder

    folder, target = Path(data), Path(out)
    rows = read_split(folder, "sft") + read_split(folder, "virl") + read_split(folder, "test")
    if not rows:
        raise SystemExit(f"error: {data} has no shards under data/ (run vinci build first)")
    target.mkdir(parents=True, exist_ok=True)
    pair_rows, prompt_rows = make_pairs(rows, pairs, seed), make_prompts(read_split(folder, "virl") or rows, prompts, seed)
    write_rows(pair_rows, target / "pairs.parquet")
    write_rows(prompt_rows, target / "prompts.parquet")
    tokenizer = code_tokenizer((r["code"] for r in rows), vocab)
    save_processor_folder(target / "tok", tokenizer, min_pixels=56 * 56, max_pixels=448 * 448)
    return {"pairs": len(pair_rows), "prompts": len(prompt_rows), "vocab": len(tokenizer), "out": str(target)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="out/demo", help="a build folder (vinci build)")
    parser.add_argument("--out", default=".gpu")
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=8000)
    args = parser.parse_args()
    print(prepare(args.data, args.out, args.pairs, args.prompts, args.vocab))


if __name__ == "__main__":
    main()
