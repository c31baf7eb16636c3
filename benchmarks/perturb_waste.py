"""Where perturbation renders go: per (language, perturbation kind), how many attempts are kept, dropped
too similar / too different, or fail to render -- and which of the drops a pre-render check catches.

    python benchmarks/perturb_waste.py [--n 150] [--per-row 2] [--lang L] [--commented] [--out /tmp/perturb_waste]
    python benchmarks/perturb_waste.py --table-only --out /tmp/perturb_waste   (today's checks over stored attempts)

Each language's generator gives ``--n`` rows (seed 7, as ``benchmarks/scale.py``); each row is rendered,
then drawn ``--per-row`` attempts exactly as the build's perturb step draws them
(``Perturb.draw``: the row's own seeded stream, the demo manifest's settings), and every attempt is
rendered and judged by ``verify`` -- with the pre-render checks switched off, so the table shows what
the checks would have saved and whether they ever caught an attempt the render kept (they must not).
One JSON line per attempt goes to ``OUT/LANG.jsonl`` (code, verdict, distance, check verdict).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import islice
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.atomic import write_text  # noqa: E402
from core.languages import LANGUAGES  # noqa: E402
from core.records import Record, record_id  # noqa: E402
from core.verdicts import drop_of  # noqa: E402
from filters.dedup import normalize_code  # noqa: E402
from filters.execution import render_job  # noqa: E402
from filters.quality import code_reason  # noqa: E402
from pipelines.manifest import PerturbConfig  # noqa: E402
from pipelines.perturb.precheck import doomed  # noqa: E402
from pipelines.perturb.stage import Perturb  # noqa: E402
from pipelines.perturb.verify import verify  # noqa: E402
from sources.base import open_source  # noqa: E402

# Code as people keep it: each statement beside a commented-out earlier version (``--commented``).
COMMENTABLE = {"latex": (re.compile(r"^(\s*)(\\(?:draw|node|fill|filldraw|path|addplot)\b.*)$", re.M), "% "),
               "python": (re.compile(r"^(\s*)((?:ax\w*|plt)\..*)$", re.M), "# ")}


def commented_copies(lang: str, code: str) -> str:
    """``code`` with a commented-out copy above each statement line (languages in ``COMMENTABLE``)."""
    pattern, mark = COMMENTABLE[lang]
    return pattern.sub(lambda m: f"{m.group(1)}{mark}{m.group(2)}\n{m.group(0)}", code)


# The demo manifest's perturbation settings (manifests/demo.yaml), with more attempts per row.
DEMO = dict(error_share=0.2, min_distance=1.0, max_distance=40.0, max_kinds=2)


def parents(service, lang: str, n: int, commented: bool = False) -> list[Record]:
    """The first ``n`` rows of the language's generator that render, as the first pass records them."""
    samples = list(islice(open_source(LANGUAGES[lang].synthetic_source, seed=7), n))
    if commented:
        samples = [replace(s, code=commented_copies(lang, s.code)) for s in samples]
    results = service.render_many([render_job(lang, s.code, s.meta) for s in samples])
    return [Record(id=record_id(lang, normalize_code(lang, s.code)), task="generate", lang=lang, code=s.code,
                   image=r.png, source=s.source, source_ref=s.source_ref, license=s.license, phash="0" * 16,
                   meta={k: v for k, v in s.meta.items() if k != "files"})
            for s, r in zip(samples, results) if r.ok]


def measure(service, lang: str, n: int, per_row: float, out: Path, commented: bool = False) -> list[dict]:
    cfg = PerturbConfig(per_row=per_row, **DEMO)
    step = Perturb(cfg, seed=0)
    rows = parents(service, lang, n, commented)
    draws = [a for r in rows for a in step.draw(r)]
    known = dict(zip(map(id, draws), doomed(draws)))  # judged as the step judges them; rendered all the same
    tried = [a for a in draws if a.applied]
    results = service.render_many([render_job(lang, a.flawed, a.parent.meta) for a in tried])
    for a, result in zip(tried, results):
        a.result = result
    lines = []
    for a in tried:
        verdict, distance = verify(a.parent, a.flawed, a.name, a.result, a.error, cfg)
        caught = known[id(a)]
        drop = drop_of(verdict)
        lines.append({"lang": lang, "row": a.parent.id, "name": a.name, "kind": a.applied[0].kind,
                      "error": a.error, "reason": "kept" if drop is None else drop.reason,
                      "norm_equal": normalize_code(lang, a.flawed) == normalize_code(lang, a.parent.code),
                      "distance": distance, "caught": caught.reason if caught else None,
                      "code_reason": code_reason(lang, a.flawed, 20, 20000),
                      "cpu_s": a.result.cpu_s, "parent_code": a.parent.code, "flawed": a.flawed})
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / f"{lang}.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    print(f"{lang}: {len(rows)} rows rendered, {len(draws)} draws, {len(tried)} perturbation renders", flush=True)
    return lines


def recheck(lines: list[dict]) -> None:
    """The pre-render checks of today's code over stored attempts (in their draw order, row by row)."""
    rows: dict = {}
    attempts = []
    for x in lines:
        parent = rows.setdefault(x["row"], SimpleNamespace(id=x["row"], lang=x["lang"], code=x["parent_code"]))
        attempts.append(SimpleNamespace(parent=parent, lang=x["lang"], flawed=x["flawed"], error=x["error"], applied=[1]))
    for x, drop in zip(lines, doomed(attempts)):
        x["caught"] = drop.reason if drop else None


FAILED = ("failed_", "rendered_anyway", "wrong_error_")


def table(lines: list[dict]) -> None:
    """Per (language, kind): attempts, kept, drops by reason, and what the pre-render checks catch; per
    language, the same for each row's first attempt alone (what a build with ``per_row`` <= 1 draws)."""
    cells: dict = defaultdict(Counter)
    firsts: dict = defaultdict(Counter)
    seen = set()
    for x in lines:
        counters = [cells[(x["lang"], x["kind"])], cells[(x["lang"], "**all**")]]
        if x["row"] not in seen:
            seen.add(x["row"])
            counters.append(cells[(x["lang"], "**first attempt of each row**")])
        for c in counters:
            c["attempts"] += 1
            c["failed" if x["reason"].startswith(FAILED) else x["reason"]] += 1
            if x["caught"]:
                c[x["caught"]] += 1
                c[x["caught"] + ":kept"] += x["reason"] == "kept"
            c["bad_code"] += bool(x["code_reason"])
            c["norm_equal"] += x["norm_equal"]
    print("| lang | kind | attempts | kept | too similar | too different | failed render | comment_only "
          "(render kept) | duplicate_attempt (render kept) | same code under `core.normalise` | flawed code fails the code check |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (lang, kind), c in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1].startswith("*"), kv[0][1])):
        print(f"| {lang} | {kind} | {c['attempts']} | {c['kept']} | {c['too_similar']} | {c['too_different']} | "
              f"{c['failed']} | {c['comment_only']} ({c['comment_only:kept']}) | "
              f"{c['duplicate_attempt']} ({c['duplicate_attempt:kept']}) | {c['norm_equal']} | {c['bad_code']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--per-row", type=float, default=2.0)
    parser.add_argument("--lang", action="append", default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/perturb_waste"))
    parser.add_argument("--commented", action="store_true",
                        help="give each statement a commented-out copy first (LaTeX, Python): code as people keep it")
    parser.add_argument("--table-only", action="store_true", help="tabulate OUT/*.jsonl without rendering")
    args = parser.parse_args()
    langs = args.lang or list(LANGUAGES)
    if args.table_only:
        lines = [json.loads(x) for lang in langs if (args.out / f"{lang}.jsonl").exists()
                 for x in (args.out / f"{lang}.jsonl").read_text().splitlines()]
        recheck(lines)
    else:
        from filters.render import RenderService

        with RenderService(workers=1, timeout_s=30.0) as service:
            lines = [x for lang in langs for x in measure(service, lang, args.n, args.per_row, args.out, args.commented)]
    table(lines)


if __name__ == "__main__":
    main()
