"""Every perturbation kind on real generated samples: a local edit, rendered and verified."""
from __future__ import annotations

import difflib
import random
from itertools import islice
from types import SimpleNamespace

import pytest

from core.records import Record
from core.stats import Stats
from filters.distance import visual_distance
from pipelines.manifest import PerturbConfig
from pipelines.perturb.base import registry
from pipelines.perturb.stage import Perturb, draw_attempt
from pipelines.perturb.verify import rejection
from sources.base import open_source

SPECS = {"python": "synthetic.charts", "html": "synthetic.html", "svg": "synthetic.svg", "latex": "synthetic.latex",
         "smiles": "synthetic.smiles"}
CASES = [(lang, name) for lang in SPECS for name in registry(lang)]


def applicable(lang: str, name: str, want: int = 3):
    """Up to ``want`` generated samples the kind applies to, with their flawed versions."""
    perturbation = registry(lang)[name]
    found = []
    for index, sample in enumerate(islice(open_source(SPECS[lang], seed=2), 80)):
        flawed = perturbation.apply(sample.code, random.Random(index))
        if flawed is not None:
            found.append((sample.code, flawed))
            if len(found) == want:
                break
    if not found:
        pytest.fail(f"{name} applied to none of 80 generated samples")
    return perturbation, found


def first_applicable(lang: str, name: str):
    perturbation, found = applicable(lang, name, want=1)
    return perturbation, *found[0]


def test_at_least_eight_visual_kinds_and_an_error_kind_per_language():
    for lang in SPECS:
        kinds = registry(lang).values()
        assert sum(not p.error for p in kinds) >= 8, lang
        assert any(p.error for p in kinds), lang


@pytest.mark.renders
@pytest.mark.parametrize("lang, name", CASES)
def test_kind_edits_locally_and_renders_as_intended(service, lang, name):
    perturbation, found = applicable(lang, name)
    for code, flawed in found:
        assert flawed != code
        if lang != "smiles":
            changed = [l for l in difflib.unified_diff(code.splitlines(), flawed.splitlines(), lineterm="", n=0)
                       if l.startswith(("+", "-")) and not l.startswith(("+++", "---"))]
            assert 0 < len(changed) <= 12, f"{name} rewrote too much:\n" + "\n".join(changed[:20])
    results = service.render_many([(lang, c) for pair in found for c in pair])
    pairs = list(zip(results[::2], results[1::2]))
    assert all(target.ok for target, _ in pairs)
    if perturbation.error:
        assert all(result.error_kind == perturbation.error for _, result in pairs), [r.message for _, r in pairs]
    else:
        rendered = [(t, r) for t, r in pairs if r.ok]
        assert rendered, f"{name}: no flawed version rendered: {[r.message for _, r in pairs]}"
        assert all(r.png != t.png for t, r in rendered)


@pytest.mark.renders
def test_verification_accepts_and_rejects_on_both_sides(service):
    perturbation, code, flawed = first_applicable("python", "python.font_size")
    target, result = service.render_many([("python", code), ("python", flawed)])
    d = visual_distance(target.png, result.png)
    assert d > 1
    assert rejection(result, None, target.png, d - 0.5, d + 0.5) == (None, d)
    assert rejection(result, None, target.png, d + 1, d + 5) == ("too_similar", d)
    assert rejection(result, None, target.png, 0, d - 1) == ("too_different", d)
    assert visual_distance(target.png, target.png) == 0


@pytest.mark.renders
def test_error_kind_that_renders_is_rejected(service):
    ok = service.render_many([("smiles", "CCO")])[0]
    assert rejection(ok, "syntax", ok.png, 1, 40) == ("rendered_anyway", None)


@pytest.mark.parametrize("lang, name, code", [
    ("python", "python.axis_scale", "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n"),
    ("python", "python.drop_artist", "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n"),
    ("svg", "svg.gradient_stop", '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="5" height="5"/></svg>'),
    ("smiles", "smiles.stereo_flip", "C"),
    ("latex", "latex.axis_option", "\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}"),
    ("html", "html.unclosed_style", "<html><body><p>no style here</p></body></html>"),
    ("python", "python.color", "this is not python ((("),
])
def test_inapplicable_kind_is_a_clean_skip(lang, name, code):
    assert registry(lang)[name].apply(code, random.Random(0)) is None


def test_plans_are_deterministic_under_a_seed():
    cfg = PerturbConfig(per_row=1, error_share=0.3, max_kinds=3)
    for lang, spec in SPECS.items():
        sample = next(iter(open_source(spec, seed=1)))
        record = Record(id="x", task="generate", lang=lang, code=sample.code, image=None, source="s", source_ref="r", license="l")
        first = draw_attempt(record, random.Random("seed"), cfg)
        again = draw_attempt(record, random.Random("seed"), cfg)
        assert first is not None and (first.flawed, first.name) == (again.flawed, again.name)


def perturb_records(records, service, cfg, seed, stats):
    """The perturb step over ``records``: its optimize rows (counted in ``stats``)."""
    step = Perturb(cfg, seed)
    step.setup(service)
    work = SimpleNamespace(items=list(records), stats=stats)
    step(work)
    return work.items


@pytest.mark.renders
def test_stage_makes_verified_optimize_rows(service):
    cfg = PerturbConfig(per_row=2, error_share=0.25, min_distance=1, max_distance=40)
    samples = list(islice(open_source("synthetic.svg", seed=4), 6))
    results = service.render_many([(s.lang, s.code) for s in samples])
    records = [Record(id=f"r{i}", task="generate", lang="svg", code=s.code, image=r.png, source=s.source,
                      source_ref=s.source_ref, license=s.license, phash="0" * 16) for i, (s, r) in enumerate(zip(samples, results))]
    stats = Stats()
    rows = perturb_records(records, service, cfg, seed=0, stats=stats)
    assert rows and all(r.task == "optimize" and r.flawed_code != r.code and r.perturbation for r in rows)
    for row in rows:
        if row.flawed_image is not None:
            assert 1 <= visual_distance(row.image, row.flawed_image) <= 40
        else:
            assert registry("svg")[row.perturbation].error
    table = stats.table()["perturb"]["svg"]
    assert table["in"] == 12 and table["out"] == len(rows)
    assert rows == perturb_records(records, service, cfg, seed=0, stats=Stats())
