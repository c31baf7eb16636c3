"""Pre-render checks on real renders: what they drop renders as the render step would have dropped it, and
code that only a looser normaliser calls "the same" is rendered (its picture differs)."""
from __future__ import annotations

import random
import re
from itertools import islice
from types import SimpleNamespace

import pytest

from benchmarks.perturb_waste import commented_copies
from core.normalise import markup_layout, python_tokens
from core.records import Record
from core.stats import Stats
from filters.distance import visual_distance
from pipelines.manifest import PerturbConfig
from pipelines.perturb import stage
from pipelines.perturb.base import registry
from pipelines.perturb.precheck import doomed, same_program
from pipelines.perturb.stage import Perturb
from pipelines.perturb.verify import verify
from sources.base import open_source


def records(service, lang: str, spec: str, n: int, edit=lambda code: code) -> list[Record]:
    samples = [s for s in islice(open_source(spec, seed=7), n)]
    codes = [edit(s.code) for s in samples]
    results = service.render_many([(lang, c) for c in codes])
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    return [Record(id=f"r{i}", task="generate", lang=lang, code=c, image=r.png, source=s.source, source_ref=s.source_ref,
                   license=s.license, phash="0" * 16) for i, (s, c, r) in enumerate(zip(samples, codes, results))]


TIKZ_STATEMENT_LINE = re.compile(r"^(\s*)(\\(?:draw|node|fill|filldraw|path|addplot)\b.*);[ \t]*$", re.M)


def earlier_versions_inside(code: str) -> str:
    """Each one-line TikZ statement with its earlier version kept as a comment before its ``;`` (coordinates
    and node texts in a comment inside a live statement, where a perturbation's pattern can still land)."""
    return TIKZ_STATEMENT_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)} % earlier: {m.group(2)}\n{m.group(1)};", code)


@pytest.mark.renders
@pytest.mark.needs_tex
def test_an_edit_of_a_tikz_comment_is_dropped_unrendered_and_the_render_agrees(service, monkeypatch):
    cfg = PerturbConfig(per_row=3, error_share=0.2, max_kinds=1, kinds=["coordinates", "node_text", "plot_data",
                                                                         "undefined_command", "missing_end"])
    rows = records(service, "latex", "synthetic.latex", 6, earlier_versions_inside)
    draws = [a for r in rows for a in Perturb(cfg, seed=0).draw(r) if a.applied]
    known = doomed(draws)
    results = service.render_many([("latex", a.flawed) for a in draws])
    caught, earlier = 0, {}
    for a, drop, result in zip(draws, known, results):
        verdict, distance = verify(a.parent, a.flawed, a.name, result, a.error, cfg)
        key = (a.parent.id, a.flawed, a.error)
        if drop is not None and drop.reason == "duplicate_attempt":
            assert earlier[key] == verdict  # the same render, the same verdict as the attempt it repeats
        elif drop is not None:
            caught += 1
            assert drop.reason == "comment_only"
            assert verdict is not True, f"{a.name}: the check dropped a perturbation the render keeps"
            assert verdict.reason in ("too_similar", "rendered_anyway") and distance in (0.0, None)
            assert result.ok and visual_distance(a.parent.image, result.png) == 0.0
        if verdict is True:
            assert drop is None or drop.reason == "duplicate_attempt"
        earlier.setdefault(key, verdict)
    assert caught >= 2, "no attempt edited a comment: the test shows nothing"
    _, stats, renders = run_step(service, rows, cfg, True, monkeypatch, seed=0)
    table = stats.table()["perturb"]["latex"]
    assert table["dropped:comment_only"] == caught  # counted by the filter base class, into stats.json
    assert renders == len(draws) - caught - table.get("dropped:duplicate_attempt", 0)


def test_tikz_statements_are_found_in_what_tex_reads():
    """A commented-out statement is no target (its edit would change nothing), and the search for a live
    statement's ``;`` does not run through a comment into the next statement."""
    code = commented_copies("latex", next(iter(open_source("synthetic.latex", seed=7))).code)
    assert "% \\" in code
    for lang_kind in ("latex.color", "latex.line_style", "latex.remove_command", "latex.missing_end"):
        for seed in range(20):
            flawed = registry("latex")[lang_kind].apply(code, random.Random(seed))
            assert flawed is None or not same_program("latex", code, flawed), (lang_kind, seed)



@pytest.mark.renders
@pytest.mark.needs_chromium
def test_a_css_rule_inside_a_style_comment_marker_is_css_and_its_edit_is_rendered(service):
    code = ("<!DOCTYPE html><html><head><style><!-- body { background: #1d3557; margin: 0 } --></style></head>"
            "<body><p style='color: white'>Quarterly report</p></body></html>")
    flawed = registry("html")["html.color"].apply(code, random.Random(0))
    assert flawed and "#1d3557" not in flawed
    assert markup_layout(flawed) == markup_layout(code)  # the dedup normaliser drops it as a comment
    assert not same_program("html", code, flawed)
    target, result = service.render_many([("html", code), ("html", flawed)])
    assert visual_distance(target.png, result.png) >= 1.0  # a browser applies the rule: the picture changed


PLAIN = """import matplotlib.pyplot as plt

SHOW_NOTE = False
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(['a', 'b', 'c'], [3, 1, 2], color='#2a9d8f')  # teal bars
if SHOW_NOTE:
    ax.set_title('Draft')
ax.set_xlabel('Group')
plt.savefig('chart.png', dpi=100)
"""


@pytest.mark.renders
def test_python_comments_are_not_drawn_but_indentation_is(service):
    recommented = PLAIN.replace("# teal bars", "# orange bars, see issue 12")
    reindented = PLAIN.replace("\nax.set_xlabel", "\n    ax.set_xlabel")
    assert same_program("python", PLAIN, recommented)
    assert python_tokens(reindented) == python_tokens(PLAIN)  # the dedup normaliser folds indentation
    assert not same_program("python", PLAIN, reindented)
    original, comment, indent = service.render_many([("python", c) for c in (PLAIN, recommented, reindented)])
    assert visual_distance(original.png, comment.png) == 0.0
    assert visual_distance(original.png, indent.png) > 0.0  # the x label went into the dead branch


def test_a_tex_comment_keeps_its_percent_sign_which_eats_the_line_end():
    code = "\\begin{tikzpicture}\\node {Hello%\nWorld};\\end{tikzpicture}"
    assert same_program("latex", code, code.replace("Hello%", "Hello% a note"))
    assert not same_program("latex", code, code.replace("Hello%\n", "Hello\n"))  # "Hello World", not "HelloWorld"
    assert not same_program("latex", code, code.replace("Hello%", "Hello\\%"))


def test_markup_comments_that_a_browser_closes_elsewhere_are_not_cut():
    page = "<p>a</p><!-- x --!> <p>seen</p> --><textarea><!-- typed --></textarea>"
    assert not same_program("html", page, page.replace("seen", "edited"))
    assert not same_program("html", page, page.replace("typed", "edited"))
    assert same_program("html", "<p>a</p><!-- old -->", "<p>a</p><!-- new -->")


class CountingService:
    """The render service, counting the renders it is asked for."""

    def __init__(self, service) -> None:
        self.service, self.renders = service, 0

    def render_many(self, jobs):
        self.renders += len(jobs)
        return self.service.render_many(jobs)


def run_step(service, rows, cfg, checks: bool, monkeypatch, seed: int = 3):
    if not checks:
        monkeypatch.setattr(stage, "doomed", lambda draws: [None] * len(draws))
    counting, stats = CountingService(service), Stats()
    step = Perturb(cfg, seed=seed)
    step.setup(counting)
    work = SimpleNamespace(items=list(rows), stats=stats)
    step(work)
    monkeypatch.undo()
    return work.items, stats, counting.renders


@pytest.mark.renders
def test_a_repeated_attempt_is_not_rendered_and_the_rows_that_survive_are_the_same(service, monkeypatch):
    cfg = PerturbConfig(per_row=3, kinds=["python.wrong_api"])
    rows = records(service, "python", "synthetic.charts", 4)
    checked, stats, renders = run_step(service, rows, cfg, True, monkeypatch)
    plain, plain_stats, plain_renders = run_step(service, rows, cfg, False, monkeypatch)
    repeats = stats.table()["perturb"]["python"].get("dropped:duplicate_attempt", 0)
    assert repeats > 0, "no row drew the same wrong_api edit twice: the test shows nothing"
    assert renders == plain_renders - repeats
    first = {}
    for row in plain:  # the build's optimize step keeps the first row of an id (exact_duplicate)
        first.setdefault(row.id, row)
    assert [r.id for r in checked] == list(first) and checked == list(first.values())
    assert stats.table()["perturb"]["python"]["in"] == plain_stats.table()["perturb"]["python"]["in"]
