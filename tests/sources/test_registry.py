"""One registry of source kinds: every spec resolves through ``resolve_source``, whose options are each
kind's typed model; an unknown spec, option, type or language is one error naming it."""
from __future__ import annotations

from itertools import islice

import pytest

from core.errors import SourceError
from core.languages import SYNTHETIC_SOURCES
from sources.hub.options import HubOptions
from sources.registry import KINDS, SourceKind, SourceOptions, known_specs, resolve_source, source_kind


def test_dir_takes_no_options_and_says_so(tmp_path):
    with pytest.raises(SourceError, match=r"dir:.*unknown option 'langs'; it takes no options"):
        resolve_source(f"dir:{tmp_path}", {"langs": ["svg"]})


def test_hub_options_are_its_model_with_a_close_match():
    assert {"code_column", "lang", "split", "data_files"} <= set(HubOptions.model_fields)
    with pytest.raises(SourceError, match=r"'code_colum' \(did you mean 'code_column'\?\); it takes: .*code_column"):
        resolve_source("hub:org/x", {"code_colum": "c", "lang": "svg"})
    source = resolve_source("hub:org/x", {"code_column": "c", "lang": "svg"})
    assert source.rest == "org/x" and source.options.code_column == "c" and source.options.offset == 0


def test_an_option_of_the_wrong_type_or_an_unknown_language_is_named():
    with pytest.raises(SourceError, match=r"source hub:org/x: option offset: .*greater than or equal to 0 \(got -5\)"):
        resolve_source("hub:org/x", {"offset": -5})
    with pytest.raises(SourceError, match=r"source synthetic.smiles: option max_chain: .*integer.*\(got 'long'\)"):
        resolve_source("synthetic.smiles", {"max_chain": "long"})
    with pytest.raises(SourceError, match=r"option lang 'rust' is not a language vinci renders; known: python"):
        resolve_source("hub:org/x", {"code_column": "c", "lang": "rust"})


def test_synthetic_sources_take_their_generators_options_and_unknown_specs_list_the_known():
    with pytest.raises(SourceError, match="synthetic.svg: unknown option 'foo'"):
        resolve_source("synthetic.svg", {"foo": "bar"})
    with pytest.raises(SourceError, match="synthetic.charts: unknown option 'kinds'; it takes no options"):
        resolve_source("synthetic.charts", {"kinds": ["bar"]})
    with pytest.raises(SourceError, match=r"unknown source spec 'synthetic.chart' \(did you mean 'synthetic.charts'\?\); "
                                          r"known: synthetic.charts, .*dir:<path>, hub:<dataset_id>"):
        resolve_source("synthetic.chart", {})
    assert known_specs() == [*SYNTHETIC_SOURCES, "dir:<path>", "hub:<dataset_id>"]
    grid = [s.meta["kind"] for s in islice(resolve_source("synthetic.svg", {"kinds": ["grid"]}).open(seed=1), 3)]
    assert grid == ["grid"] * 3


def test_each_kind_describes_itself_for_the_plan_and_names_what_stops_a_build(tmp_path):
    assert resolve_source("synthetic.latex").details() == "synthetic.latex: procedural"
    assert resolve_source(f"dir:{tmp_path}").details() == f"dir:{tmp_path}: files"
    assert resolve_source(f"dir:{tmp_path}").problem() is None
    assert resolve_source(f"dir:{tmp_path}/nope").problem() == f"dir:{tmp_path}/nope: no such folder or archive"
    hub = resolve_source("hub:ChartMimic/ChartMimic", {"offset": 10})
    assert hub.details().startswith("ChartMimic/ChartMimic: config chartmimic, split test") and "from row 10" in hub.details()


def test_a_kind_registered_once_works_in_the_harvester_the_manifest_the_plan_and_the_preflight(monkeypatch, tmp_path):
    """A new kind is one class; every place that takes a spec resolves it through ``resolve_source``."""
    import argparse

    from pipelines.manifest import ManifestError, load_manifest
    from pipelines.plan import source_details
    from pipelines.preflight import preflight
    from sources.base import RawSample
    from sources.commands import cmd_harvest

    class Count(SourceOptions):
        upto: int = 3

    monkeypatch.setitem(KINDS, "count", None)

    @source_kind
    class Counter(SourceKind):
        prefix, usage, Options = "count", "count:<lang>", Count

        def open(self, seed=0, start=0):
            return (RawSample(self.rest, str(i), self.spec, str(i), "CC0") for i in range(start, self.options.upto))

        def details(self):
            return f"{self.spec}: counts to {self.options.upto}"

        def problem(self):
            return None if self.rest == "svg" else f"{self.spec}: only svg counts"

    assert [s.code for s in resolve_source("count:svg", {"upto": 4}).open(start=1)] == ["1", "2", "3"]
    assert "count:<lang>" in known_specs()

    manifest = tmp_path / "m.yaml"
    manifest.write_text("name: x\nsources:\n  - {source: 'count:svg', n: 3, options: {upto: 4}}\n  - {source: 'count:c', n: 1}\n")
    loaded = load_manifest(manifest)
    assert source_details(loaded.sources[0].source, loaded.sources[0].options) == "count:svg: counts to 4"
    assert preflight(loaded).errors == ["sources.1: count:c: only svg counts"]
    manifest.write_text("name: x\nsources:\n  - {source: 'count:svg', n: 3, options: {up_to: 4}}\n")
    with pytest.raises(ManifestError, match=r"sources.0.options: source count:svg: unknown option 'up_to' "
                                            r"\(did you mean 'upto'\?\); it takes: upto"):
        load_manifest(manifest)

    out = tmp_path / "rows.jsonl"
    args = argparse.Namespace(source="count:svg", option=["upto=5"], n=10, seed=0, output=str(out))
    assert cmd_harvest(args) == 0 and len(out.read_text().splitlines()) == 5
