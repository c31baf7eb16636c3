"""``vinci eval``: generate code for held-out images, render it, and score it per language."""
from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .data import as_image, load_split, user_turn
from .models import load_model, load_processor, resolve
from .rewards import RewardConfig, VisualCodeReward, extract_code


def ssim(target, png: bytes | None) -> float:
    if png is None:
        return 0.0
    from PIL import Image
    from skimage.metrics import structural_similarity

    a = np.asarray(target.convert("L"), dtype=np.float32)
    b = np.asarray(Image.open(io.BytesIO(png)).convert("L").resize(target.size), dtype=np.float32)
    return float(structural_similarity(a, b, data_range=255.0))


def tanimoto(reference: str, generated: str | None) -> float:
    if not generated:
        return 0.0
    from rdkit import Chem, DataStructs, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    a, b = Chem.MolFromSmiles(reference.split()[0]), Chem.MolFromSmiles(generated.split()[0] if generated.split() else "")
    if a is None or b is None:
        return 0.0
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return float(DataStructs.TanimotoSimilarity(gen.GetFingerprint(a), gen.GetFingerprint(b)))


def generate(model, processor, rows: list[dict], max_new_tokens: int) -> list[str]:
    import torch

    outputs = []
    for row in rows:
        messages, images = user_turn({**row, "task": "generate"})
        text = processor.apply_chat_template(messages, add_generation_prompt=True)
        batch = processor(text=[text], images=images, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            ids = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False)
        outputs.append(processor.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)[0])
    return outputs


def evaluate(data: str, split: str, model_id: str, n: int | None = None, output_dir: str = "runs/eval",
             max_new_tokens: int = 2048, reward_config: RewardConfig | None = None, service=None) -> dict:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = load_split(data, split).filter(lambda r: r["task"] == "generate")
    rows = [ds[i] for i in range(min(n or len(ds), len(ds)))]
    path = resolve(model_id, out)
    model, processor = load_model(path), load_processor(path)
    completions = generate(model, processor, rows, max_new_tokens)
    reward = VisualCodeReward(reward_config or RewardConfig(), service=service)
    try:
        langs = [r["lang"] for r in rows]
        targets = [as_image(r["image"]) for r in rows]
        codes = [extract_code(c, l) for c, l in zip(completions, langs)]
        renders = reward.service.render_many([(l, c or "") for l, c in zip(langs, codes)])
        pngs = [r.png if r.ok and code else None for r, code in zip(renders, codes)]
        parts = reward.score_rendered(pngs, targets, [code is not None for code in codes])
    finally:
        reward.close()
    per_lang: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row, p, code, target, png in zip(rows, parts, codes, targets, pngs):
        m = per_lang[row["lang"]]
        m["execution"].append(p["executed"])
        m["coarse"].append(p["coarse"])
        m["fine"].append(p["fine"])
        m["ssim"].append(ssim(target, png))
        if row["lang"] == "smiles":
            m["tanimoto"].append(tanimoto(row["code"], code))
    table = {lang: {k: float(np.mean(v)) for k, v in metrics.items()} | {"n": len(metrics["execution"])}
             for lang, metrics in sorted(per_lang.items())}
    (out / "metrics.json").write_text(json.dumps(table, indent=1))
    sheet(targets, pngs, out / "sheet.png")
    return table


def sheet(targets, pngs, path: Path, size: int = 200) -> None:
    """Target | generated render, one pair per line (grey where nothing rendered)."""
    from PIL import Image

    canvas = Image.new("RGB", (2 * size + 10, max(1, len(targets)) * (size + 10)), "white")
    for i, (target, png) in enumerate(zip(targets, pngs)):
        t = target.copy()
        t.thumbnail((size, size))
        canvas.paste(t, (0, i * (size + 10)))
        g = Image.open(io.BytesIO(png)).convert("RGB") if png else Image.new("RGB", (size, size), (200, 200, 200))
        g.thumbnail((size, size))
        canvas.paste(g, (size + 10, i * (size + 10)))
    canvas.save(path)


def print_table(table: dict) -> None:
    print(f"{'lang':<8} {'n':>4} {'exec':>6} {'coarse':>7} {'fine':>7} {'ssim':>6} {'tanimoto':>9}")
    for lang, m in table.items():
        tani = f"{m['tanimoto']:.3f}" if "tanimoto" in m else "-"
        print(f"{lang:<8} {m['n']:>4} {m['execution']:>6.2f} {m['coarse']:>7.3f} {m['fine']:>7.3f} {m['ssim']:>6.3f} {tani:>9}")
