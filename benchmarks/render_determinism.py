"""Same code, same PNG bytes: renders generated samples twice -- once as the machine is, once with
every core kept busy by spinning processes -- and counts the samples whose bytes differ.

    python benchmarks/render_determinism.py [--n 150] [--langs html,python] [--workers 2]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.languages import LANGUAGES  # noqa: E402
from filters.render import RenderService  # noqa: E402
from sources.base import open_source  # noqa: E402

SOURCES = {name: lang.synthetic_source for name, lang in LANGUAGES.items()}  # language → its generator


def digests(lang: str, codes: list[str], workers: int) -> list[str | None]:
    with RenderService(workers=workers, timeout_s=10.0) as service:
        results = service.render_many([(lang, code) for code in codes])
    return [hashlib.sha256(r.png).hexdigest() if r.ok else f"error:{r.error_kind}" for r in results]


class Burners:
    """Busy loops on every core (twice over), so the renders compete for CPU."""

    def __enter__(self) -> "Burners":
        n = 2 * (os.cpu_count() or 1)
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--langs", default="html")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{'lang':<8} {'n':>5} {'differ':>7} {'quiet s':>8} {'busy s':>8}")
    failed = 0
    for lang in args.langs.split(","):
        codes = [s.code for s in islice(open_source(SOURCES[lang], seed=0), args.n)]
        t = time.perf_counter()
        quiet = digests(lang, codes, args.workers)
        quiet_s = time.perf_counter() - t
        with Burners():
            t = time.perf_counter()
            busy = digests(lang, codes, args.workers)
            busy_s = time.perf_counter() - t
        differ = [i for i, (a, b) in enumerate(zip(quiet, busy)) if a != b]
        failed += len(differ)
        print(f"{lang:<8} {len(codes):>5} {len(differ):>7} {quiet_s:>8.1f} {busy_s:>8.1f}"
              + (f"   rows {differ[:10]}" if differ else ""), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
