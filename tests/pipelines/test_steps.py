"""Every step's drops go through one counting path: the ``Filter`` base class.

Two checks that fail on a step that counts by hand: no module but ``core/steps.py`` counts an
``in``/``out`` or a drop (read from the code's syntax tree), and every registered step, fed items
it drops, shows ``in = out + drops`` per language with one exclusion record per drop, under its name.
"""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.exclusions import RowAt
from core.records import Record
from core.stats import Stats
from core.steps import Filter, Step
from filters.decontaminate import Reference
from filters.execution import render_samples, rendered_ok
from pipelines.build import GLOBAL_STEPS
from pipelines.manifest import LicensePolicy, PerturbConfig, QualityConfig
from pipelines.perturb.runner import PerturbRunner
from pipelines.unit import UNIT_STEPS, Harvest, SourceImages, Unit, UnitWork
from sources.base import RawSample

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "sources", "filters", "training", "pipelines")
COUNTING_PATH = ROOT / "core" / "steps.py"
REGISTERED = (*UNIT_STEPS, *PerturbRunner.STEPS, *GLOBAL_STEPS)
MAKERS = {Harvest, SourceImages}  # steps that make or annotate items and drop none


def _receiver(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def hand_counting(source: str) -> list[int]:
    """Lines that count outside the counting path: ``<...>stats.drop(...)``, ``.add(stage, lang, "in"|"out")``,
    or a ``Count(...)`` made by hand."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "drop" and _receiver(func.value).endswith("stats"):
            found.append(node.lineno)
        elif (isinstance(func, ast.Attribute) and func.attr == "add" and len(node.args) >= 3
              and isinstance(node.args[2], ast.Constant) and node.args[2].value in ("in", "out")):
            found.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id == "Count":
            found.append(node.lineno)
    return found


def test_the_check_finds_hand_counting():
    """The way refine and perturb counted before they were filters: the check must catch it."""
    before = ('stats.add(STAGE, parent.lang, "in")\n'
              'stats.drop(STAGE, parent.lang, "draft_is_the_answer", parent, error="the draft is the corrected code")\n'
              'work.stats.add("optimize", lang, "out")\n'
              'stats.counts[Count("dedup", lang, "in")] += 1\n'
              'stats.add("perturb_kind", lang, "color:accepted")\n')
    assert hand_counting(before) == [1, 2, 3, 4]


def test_no_module_counts_outside_the_filter_base_class():
    offenders = [f"{path.relative_to(ROOT)}:{line}"
                 for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
                 if path not in (COUNTING_PATH, ROOT / "core" / "stats.py")
                 for line in hand_counting(path.read_text())]
    assert offenders == []


@pytest.mark.parametrize("step", REGISTERED, ids=lambda s: s.name)
def test_every_registered_step_is_an_object_that_counts_only_through_the_base_class(step):
    assert issubclass(step, Step) and step.name
    if step not in MAKERS:
        assert issubclass(step, Filter), f"{step.__name__} drops items: make it a Filter"
        assert step.keep is Filter.keep, f"{step.__name__} overrides the counting path"


# --- each registered filter fed items it drops --------------------------------------------------

def sample(lang: str, code: str, license: str = "mit") -> RawSample:
    return RawSample(lang, code, "s", f"s/{code}", license)


def clean_rows(service, codes: list[str]) -> list[Record]:
    results = service.render_many([("smiles", c) for c in codes])
    return [Record(id=f"r-{c}", task="generate", lang="smiles", code=c, image=r.png, source="s", source_ref=f"s/{c}",
                   license="mit", phash="0" * 16) for c, r in zip(codes, results)]


def license_filter(service):
    return (UNIT_STEPS[1](LicensePolicy(deny=["gpl-3.0"])),
            [sample("smiles", "CCO"), sample("smiles", "CCN", "gpl-3.0")], {"license_refused"})


def code_check(service):
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="5" height="5"/></svg>'
    return UNIT_STEPS[2](QualityConfig()), [sample("svg", ""), sample("svg", svg)], {"empty_code"}


def execution(service):
    return UNIT_STEPS[3](), [sample("smiles", "CCO"), sample("smiles", "C1CC(")], None


def image_check(service):
    rendered = render_samples([sample("smiles", "CCO"), sample("smiles", "c1ccccc1")], service)
    assert all(rendered_ok(r) is True for r in rendered)
    return UNIT_STEPS[4](QualityConfig(min_side=5000)), rendered, {"image_too_small"}


def refine(service):
    parents = clean_rows(service, ["CCO", "c1ccccc1"])
    work = UnitWork(Unit(0, 0, 0, 2), items=parents, drafts={"s/CCO": "OCC", "s/c1ccccc1": "C1CC("})
    return UNIT_STEPS[6](PerturbConfig()), work, {"draft_is_the_answer"}


def perturb(service):
    cfg = PerturbConfig(per_row=2, error_share=0.0, min_distance=99.5, max_distance=100, kinds=["smiles.stereo_flip"])
    return PerturbRunner.STEPS[0](cfg, seed=0), clean_rows(service, ["C", "CC(O)CN"]), {"not_applicable"}


def dedup(service):
    rows = [RowAt(0, "a", "svg", 0xFF00), RowAt(1, "a", "svg", 0xFF00), RowAt(2, "b", "svg", 0xFF01),
            RowAt(3, "c", "svg", 0x00FF_FF00_FF00_FF00)]
    return GLOBAL_STEPS[0](4), rows, {"exact_duplicate", "near_duplicate"}


def decontaminate(service):
    step = GLOBAL_STEPS[1]([("benchmark", {})], 4)
    step.reference = Reference(hashes=[0xFF00], ids={"c"}, counts={"benchmark": 2})
    rows = [RowAt(0, "a", "svg", 0xFF01), RowAt(1, "b", "svg", 0x00FF_FF00_FF00_FF00), RowAt(2, "c", "svg", 1 << 40)]
    return step, rows, {"contaminated"}


def optimize(service):
    rows = [RowAt(5, "o1", "svg", parent="p1"), RowAt(6, "o1", "svg", parent="p1"), RowAt(7, "o2", "svg", parent="p2"),
            RowAt(8, "o3", "svg", parent="gone")]
    return GLOBAL_STEPS[2]({"p1": "sft", "p2": "virl"}), rows, {"exact_duplicate", "parent_in_virl", "parent_dropped"}


CASES = {"license_filter": license_filter, "quality_code": code_check, "execution": execution,
         "quality_image": image_check, "refine": refine, "perturb": perturb, "dedup": dedup,
         "decontaminate": decontaminate, "optimize": optimize}


@pytest.mark.renders
@pytest.mark.parametrize("step", [s for s in REGISTERED if s not in MAKERS], ids=lambda s: s.name)
def test_a_registered_filters_drops_are_counted_and_recorded(service, step):
    assert step.name in CASES, f"no case feeds {step.__name__} items it drops: add one here"
    filt, items, reasons = CASES[step.name](service)
    assert type(filt) is step
    work = items if isinstance(items, UnitWork) else SimpleNamespace(items=items, stats=Stats())
    filt.setup(service if step.resources.renders else None)
    step.__call__(filt, work)
    counts = work.stats.table()[step.name]
    drops = {lang: {k[len("dropped:"):]: n for k, n in c.items() if k.startswith("dropped:")} for lang, c in counts.items()}
    assert sum(sum(d.values()) for d in drops.values()) > 0, f"{step.name} dropped nothing"
    for lang, c in counts.items():
        if "in" in c:
            assert c["in"] == c.get("out", 0) + sum(drops[lang].values()), (lang, c)
    records = work.stats.excluded
    assert len(records) == sum(sum(d.values()) for d in drops.values())
    assert {r.stage for r in records} == {step.name}
    assert sorted(r.reason for r in records) == sorted(k for d in drops.values() for k, n in d.items() for _ in range(n))
    if reasons is not None:
        assert reasons <= {r.reason for r in records}, {r.reason for r in records}
