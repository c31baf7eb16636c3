"""Quality bar of the procedural sources: for each generator, N samples at seed 0 -- the share that
renders without error and the share left after exact and perceptual near-duplicate removal
(pHash, Hamming radius 4), with the duplicate rate per kind.

    python benchmarks/source_quality.py [--n 1000] [--langs python,html,svg,latex,smiles] [--workers 2]
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.languages import LANGUAGES  # noqa: E402
from filters.dedup import greedy_keep, hex_to_u64, near_pairs, normalize_code, phash_hex  # noqa: E402
from filters.render import RenderService  # noqa: E402
from sources.base import open_source  # noqa: E402

SOURCES = {name: lang.synthetic_source for name, lang in LANGUAGES.items()}  # language → its generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--langs", default=",".join(SOURCES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--radius", type=int, default=4)
    args = parser.parse_args()
    print(f"{'generator':<18} {'n':>5} {'renders':>8} {'unique':>7}  worst kinds (near-duplicates / samples)")
    with RenderService(workers=args.workers, timeout_s=20) as service:
        for lang in args.langs.split(","):
            samples = list(islice(open_source(SOURCES[lang], seed=0), args.n))
            results = service.render_many([(s.lang, s.code) for s in samples])
            ok = [(s, r) for s, r in zip(samples, results) if r.ok]
            seen, rows = set(), []
            for s, r in ok:
                key = normalize_code(lang, s.code)
                if key not in seen:
                    seen.add(key)
                    rows.append((s, phash_hex(r.png)))
            keep = greedy_keep(len(rows), near_pairs(hex_to_u64([h for _, h in rows]), args.radius))
            kinds = Counter(s.meta.get("kind", "-") for s, _ in rows)
            dupes = Counter(s.meta.get("kind", "-") for (s, _), k in zip(rows, keep) if not k)
            worst = ", ".join(f"{k} {dupes[k]}/{kinds[k]}" for k, _ in dupes.most_common(3))
            print(f"{SOURCES[lang]:<18} {len(samples):>5} {len(ok) / len(samples):>8.1%} {keep.sum() / len(samples):>7.1%}  {worst}",
                  flush=True)
            errors = Counter(r.error_kind for r in results if not r.ok)
            if errors:
                print(f"{'':<18} render errors: {dict(errors)}")


if __name__ == "__main__":
    main()
