"""Procedural generators: deterministic, streaming, every kind appears, output renders."""
from __future__ import annotations

import tracemalloc
from itertools import islice

import pytest

from core.errors import SourceError
from sources.base import open_source
from sources.synthetic import charts, html, latex, svg
from tests.conftest import render_one

SPECS = ["synthetic.charts", "synthetic.html", "synthetic.svg", "synthetic.latex", "synthetic.smiles"]


@pytest.mark.parametrize("spec", SPECS)
def test_same_seed_same_samples_and_start_skips(spec):
    first = [s.code for s in islice(open_source(spec, seed=3), 12)]
    again = [s.code for s in islice(open_source(spec, seed=3), 12)]
    other = [s.code for s in islice(open_source(spec, seed=4), 12)]
    resumed = [s.code for s in islice(open_source(spec, seed=3, start=7), 5)]
    assert first == again
    assert first != other
    assert resumed == first[7:]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("spec", SPECS)
def test_a_huge_request_streams(spec):
    tracemalloc.start()
    source = open_source(spec, seed=0)
    taken = list(islice(source, 3))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(taken) == 3
    assert peak < 50 << 20


@pytest.mark.parametrize("module, spec, n", [(charts, "synthetic.charts", 500), (html, "synthetic.html", 200),
                                             (svg, "synthetic.svg", 200), (latex, "synthetic.latex", 200)])
def test_every_kind_appears(module, spec, n):
    kinds = {s.meta["kind"] for s in islice(open_source(spec, seed=0), n)}
    registry = module.KINDS
    assert kinds == set(registry)


def test_kind_counts_meet_the_brief():
    assert len(charts.KINDS) >= 20 and len(html.KINDS) >= 12
    assert {"function_plot", "bar_plot", "tree", "flowchart", "geometry", "automaton", "timeline"} <= set(latex.KINDS)


def test_smiles_are_canonical_and_sanitizable():
    from rdkit import Chem

    for sample in islice(open_source("synthetic.smiles", seed=0), 40):
        mol = Chem.MolFromSmiles(sample.code)
        assert mol is not None and Chem.MolToSmiles(mol) == sample.code


@pytest.mark.renders
@pytest.mark.parametrize("spec", SPECS)
def test_generated_samples_render(service, spec):
    samples = list(islice(open_source(spec, seed=11), 4))
    results = service.render_many([(s.lang, s.code) for s in samples])
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]


def test_every_sample_states_a_licence():
    for spec in SPECS:
        assert all(s.license for s in islice(open_source(spec, seed=0), 3))


def test_unknown_spec_is_a_clear_error():
    with pytest.raises(SourceError, match="unknown source spec"):
        open_source("synthetic.cobol")


@pytest.mark.renders
def test_svg_grid_kind_draws_few_shapes_on_the_grid(service):
    samples = list(islice(open_source("synthetic.svg", seed=0, options={"kinds": ["grid"], "grid_cells": 3, "grid_max_shapes": 2,
                                                                        "grid_colors": ["red", "blue"]}), 40))
    assert {s.meta["kind"] for s in samples} == {"grid"}
    counts = {s.code.count("/>") for s in samples}
    assert counts == {1, 2}
    assert all("fill=\"red\"" in s.code or "fill=\"blue\"" in s.code for s in samples)
    assert all(r.ok for r in service.render_many([("svg", s.code) for s in samples[:4]]))


def test_svg_default_kinds_leave_out_the_opt_in_grid():
    assert all(s.meta["kind"] != "grid" for s in islice(open_source("synthetic.svg", seed=0), 100))
    with pytest.raises(SourceError, match="unknown kinds"):
        open_source("synthetic.svg", options={"kinds": ["grid", "mandala"]})


def test_simple_smiles_vary_chain_rings_and_one_heteroatom():
    from rdkit import Chem

    samples = list(islice(open_source("synthetic.smiles", seed=0, options={"family": "simple", "max_chain": 5,
                                                                           "heteroatoms": ["O", "Cl"]}), 200))
    mols = [Chem.MolFromSmiles(s.code) for s in samples]
    assert all(m is not None and Chem.MolToSmiles(m) == s.code for m, s in zip(mols, samples))
    hetero = [sum(a.GetSymbol() != "C" for a in m.GetAtoms()) for m in mols]
    rings = {m.GetRingInfo().NumRings() for m in mols}
    assert max(hetero) == 1 and 0 in hetero and rings == {0, 1, 2}
    assert {a.GetSymbol() for m in mols for a in m.GetAtoms()} == {"C", "O", "Cl"}
    with pytest.raises(SourceError, match="family"):
        open_source("synthetic.smiles", options={"family": "peptides"})
