"""Where a build's CPU went: seconds per (step, language) from its own ``stats.json``, per row, and what
a manifest of another size and mix would cost at the same rates.

The unit runners record the CPU of each step per language (``Stats.spend``): the host thread's time
shared by the items it worked on, plus each render's CPU as the worker's cgroup counted it (Chromium's
processes included). Nothing here measures anything: it reads what the build measured.
"""
from __future__ import annotations

from collections import defaultdict

from core.stats import Stats

from .perturb.stage import Perturb
from .unit import UNIT_STEPS

PER_ROW_STEPS = tuple(step.name for step in UNIT_STEPS)
PERTURB_STEP = Perturb.name


def cpu_table(stats: Stats) -> dict[str, dict[str, float]]:
    """step → lang → CPU seconds."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for (step, lang), seconds in stats.cpu.items():
        out[step][lang] = seconds
    return dict(out)


def per_row_costs(stats: Stats) -> dict[str, dict[str, float]]:
    """lang → {"row": CPU s per harvested row over the first pass, "attempt": CPU s per perturbation
    attempt}: the rates a projection multiplies by a recipe's rows and its ``perturb.per_row``."""
    table = stats.table()
    out = {}
    for lang in sorted({lang for (_, lang) in stats.cpu if lang != "all"}):
        harvested = table.get("harvest", {}).get(lang, {}).get("out", 0)
        attempts = table.get(PERTURB_STEP, {}).get(lang, {}).get("in", 0)
        first = sum(stats.cpu.get((step, lang), 0.0) for step in PER_ROW_STEPS)
        out[lang] = {"row": first / harvested if harvested else 0.0,
                     "attempt": stats.cpu.get((PERTURB_STEP, lang), 0.0) / attempts if attempts else 0.0}
    return out


def project_core_hours(costs: dict[str, dict[str, float]], rows: dict[str, int], per_row: float) -> dict[str, float]:
    """Core-hours per language for ``rows`` harvested rows per language and ``per_row`` perturbation
    attempts per clean row (an upper bound: attempts are made only for rows that end in ``sft``)."""
    return {lang: n * (costs[lang]["row"] + per_row * costs[lang]["attempt"]) / 3600
            for lang, n in rows.items() if lang in costs}


def card_section(stats: Stats) -> str:
    table = cpu_table(stats)
    if not table:
        return ""
    langs = sorted({lang for row in table.values() for lang in row})
    steps = [s for s in (*PER_ROW_STEPS, PERTURB_STEP, "dedup") if s in table]
    lines = [f"| {step} | " + " | ".join(f"{table[step].get(lang, 0.0):,.1f}" for lang in langs) + " |" for step in steps]
    totals = [sum(table[s].get(lang, 0.0) for s in steps) for lang in langs]
    lines.append("| **all** | " + " | ".join(f"**{t:,.1f}**" for t in totals) + " |")
    return ("## Where the CPU went\n\nCPU seconds per step and language, as the build measured them (host threads, "
            "and every render's worker, Chromium's processes included); `stats.json` holds them under `cpu_s`.\n\n"
            f"| step | {' | '.join(langs)} |\n|---|{'---|' * len(langs)}\n" + "\n".join(lines) + "\n\n")
