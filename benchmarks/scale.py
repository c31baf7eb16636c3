"""What the full corpus costs: measured rows/s per core for each stage and language on this machine,
the Ray executor's overhead against the local one, and the projection for the 1.6M SFT manifest.

    python benchmarks/scale.py [--n 40] [--skip-ray]
    python benchmarks/scale.py --stats out/demo/stats.json [--stats OTHER/stats.json]

With ``--stats`` nothing is rendered: the projection multiplies the CPU seconds per (step, language)
that a real build recorded (``stats.json`` ``cpu_s``; every render's worker CPU, Chromium's processes
included, and the host threads) by the recipe's rows; two files print side by side (before | after).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from core.languages import LANGUAGES  # noqa: E402
from filters.dedup import phash_of  # noqa: E402
from filters.execution import decode  # noqa: E402
from filters.quality import code_reason, image_reason  # noqa: E402
from filters.render import RenderPool  # noqa: E402
from filters.render.base import renderer_class  # noqa: E402
from pipelines.perturb.base import registry  # noqa: E402
from sources.base import open_source  # noqa: E402

SOURCES = {name: lang.synthetic_source for name, lang in LANGUAGES.items()}  # language → its generator
# Language mix assumed for manifests/vincicoder-sft-1.6m.yaml (VinciCoder-1.6M-SFT's 600k split evenly across
# its five families on top of the single-language datasets).
SFT_MIX = {"python": 160_000 + 120_000, "html": 300_000 + 100_000 + 120_000, "svg": 210_000 + 120_000,
           "latex": 90_000 + 120_000, "smiles": 140_000 + 120_000}
PERTURB_PER_ROW = 0.25


def per_language(lang: str, n: int) -> dict:
    t = time.perf_counter()
    samples = list(islice(open_source(SOURCES[lang], seed=7), n))
    harvest = (time.perf_counter() - t) / n
    with RenderPool(lang, workers=1, timeout_s=30) as pool:
        pool.render(samples[0].code)
        t = time.perf_counter()
        results = [pool.render(s.code) for s in samples]
        render = (time.perf_counter() - t) / n
        ok = [r for r in results if r.ok]
        t = time.perf_counter()
        for s, r in zip(samples, ok):
            code_reason(lang, s.code, 20, 20000)
            image = decode(r.png)
            image_reason(image, 32, 4096 * 4096, 8.0, 3.0, 0.995)
            phash_of(image)
        quality = (time.perf_counter() - t) / max(1, len(ok))
        rng = random.Random(0)
        kinds = list(registry(lang).values())
        flawed = [k.apply(s.code, rng) for s, k in zip(samples, (rng.choice(kinds) for _ in samples))]
        flawed = [f for f in flawed if f]
        t = time.perf_counter()
        for f in flawed:
            pool.render(f)
        perturb = (time.perf_counter() - t) / max(1, len(flawed))
    cpu = renderer_class(lang).resources.cpus  # cores a render keeps busy: wall time to core time
    per_row_core_s = harvest + render * cpu + quality + PERTURB_PER_ROW * perturb * cpu
    return {"lang": lang, "harvest": 1 / harvest, "render": 1 / (render * cpu), "quality": 1 / quality,
            "perturb": 1 / (perturb * cpu), "all": 1 / per_row_core_s, "per_row_core_s": per_row_core_s}


def ray_overhead() -> tuple[float, float]:
    from tests.pipelines.conftest import TINY

    from pipelines.build import Build
    from pipelines.manifest import load_manifest

    tmp = Path(tempfile.mkdtemp())
    (tmp / "m.yaml").write_text(yaml.safe_dump(TINY))
    manifest = load_manifest(tmp / "m.yaml")
    times = {}
    for executor in ("local", "ray"):
        start = time.perf_counter()
        Build(manifest, tmp / executor, workers=2, progress=False).run(executor)
        times[executor] = time.perf_counter() - start
    shutil.rmtree(tmp, ignore_errors=True)
    return times["local"], times["ray"]


def from_build(paths: list[str]) -> None:
    """The 1.6M projection from builds' own cost records, one column per build."""
    import json

    from core.stats import Stats
    from pipelines.cost import per_row_costs, project_core_hours

    costs = [per_row_costs(Stats.from_dict(json.loads(Path(p).read_text()))) for p in paths]
    header = " | ".join(f"{Path(p).parent.name}: ms/row, ms/attempt, core-h" for p in paths)
    print(f"| lang | {header} |")
    totals = [0.0] * len(paths)
    for lang in SFT_MIX:
        cells = []
        for k, c in enumerate(costs):
            if lang not in c:
                cells.append("–")
                continue
            hours = project_core_hours(c, {lang: SFT_MIX[lang]}, PERTURB_PER_ROW)[lang]
            totals[k] += hours
            cells.append(f"{c[lang]['row'] * 1000:,.0f}, {c[lang]['attempt'] * 1000:,.0f}, {hours:,.1f}")
        print(f"| {lang} | " + " | ".join(cells) + " |")
    print("| **1.6M SFT** | " + " | ".join(f"**{t:,.1f} core-hours**" for t in totals) + " |")
    print(f"(mix {SFT_MIX}; {PERTURB_PER_ROW} perturbation attempts per clean row, an upper bound: only sft rows are "
          "perturbed; Hub download and image decoding of the source datasets not included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--stats", action="append", default=None, metavar="STATS_JSON",
                        help="project from a build's stats.json instead of rendering (repeat to compare builds)")
    args = parser.parse_args()
    if args.stats:
        from_build(args.stats)
        return
    rows = [per_language(lang, args.n) for lang in SOURCES]
    print(f"rows/s per core on this machine ({os.cpu_count()} cores), {args.n} samples per language")
    print(f"{'lang':<8} {'harvest':>9} {'render':>8} {'quality':>8} {'perturb':>8} {'all stages':>11}")
    for r in rows:
        print(f"{r['lang']:<8} {r['harvest']:>9.0f} {r['render']:>8.1f} {r['quality']:>8.0f} {r['perturb']:>8.1f} {r['all']:>11.2f}")
    core_hours = sum(SFT_MIX[r["lang"]] * r["per_row_core_s"] for r in rows) / 3600
    print(f"\n1.6M SFT manifest (mix {SFT_MIX}): {core_hours:,.0f} core-hours of render+filter+perturb")
    for machines in (1, 8, 64):
        cores = machines * 32
        print(f"  {machines:>2} x 32 cores: {core_hours / cores / 0.85 * 60:,.0f} min wall (85% utilisation)")
    if not args.skip_ray:
        local, ray = ray_overhead()
        print(f"\nexecutor overhead on the tiny manifest (32 samples, 2 workers): local {local:.1f} s, ray {ray:.1f} s "
              f"(+{ray - local:.1f} s: cluster start and actor warm-up)")


if __name__ == "__main__":
    main()
