"""The language registry: every entry complete, its modules exposing what the pipeline calls, and
every per-language table a view of it (a language missing from one used to fail silently)."""
from __future__ import annotations

import importlib
from itertools import islice

import pytest

from core.fences import fence_language, last_fenced_block
from core.languages import EXTENSIONS, FENCE_TAGS, LANGS, LANGUAGES, SYNTHETIC_SOURCES, language, language_of_path
from filters.render.base import Renderer


@pytest.mark.parametrize("name", LANGS)
def test_an_entry_is_complete_and_its_modules_expose_what_is_called(name):
    lang = LANGUAGES[name]
    assert lang.name == name and lang.display and lang.extensions and name in lang.fence_tags
    assert all(ext.startswith(".") and ext == ext.lower() for ext in lang.extensions)

    renderer = lang.renderer_class()
    assert issubclass(renderer, Renderer) and renderer.lang == name, f"{lang.renderer}.RENDERER is no Renderer of {name}"
    assert lang.canvas_sentence().startswith("It ") and lang.canvas_sentence().endswith(".")

    samples = list(islice(importlib.import_module(lang.generator).generate(seed=0, start=0), 5))
    assert [s.lang for s in samples] == [name] * 5 and all(s.source == lang.synthetic_source for s in samples)
    assert all(lang.signature(s.code) for s in samples), "the quality check would drop the generator's own code"

    perturbations = importlib.import_module(lang.perturbations).PERTURBATIONS
    assert perturbations and all(p.lang == name and p.name.startswith(f"{name}.") for p in perturbations)


def test_extensions_and_fence_tags_name_one_language_each():
    pairs = [(ext, lang.name) for lang in LANGUAGES.values() for ext in lang.extensions]
    assert len(pairs) == len(EXTENSIONS)
    tags = [(tag, lang.name) for lang in LANGUAGES.values() for tag in lang.fence_tags]
    assert len(tags) == len(FENCE_TAGS)
    assert language_of_path("a/b/fig.TIKZ") == "latex" and language_of_path("notes.txt") is None


def test_every_table_is_a_view_of_the_registry():
    from filters.quality import language_reason
    from pipelines.cli import build_parser
    from sources.base import SYNTHETIC
    from training.prompts import GENERATE, OPTIMIZE_ERROR, OPTIMIZE_VISUAL

    assert set(SYNTHETIC) == set(SYNTHETIC_SOURCES) and set(SYNTHETIC.values()) == {l.generator for l in LANGUAGES.values()}
    assert set(GENERATE) == set(OPTIMIZE_VISUAL) == set(OPTIMIZE_ERROR) == set(LANGS)
    assert all(LANGUAGES[name].canvas_sentence() in GENERATE[name] for name in LANGS)
    assert all(language_reason(name, "") != "unknown_language" for name in LANGS)
    for name in LANGS:
        assert fence_language(name.upper()) == name
        assert last_fenced_block(f"prose\n```{LANGUAGES[name].fence_tags[-1]}\nX\n```") == (name, "X")
    parser = build_parser()
    for argv in (["render", "x", "--lang", "smiles"], ["reward", "--lang", "svg", "--code", "c", "--image", "i"]):
        parser.parse_args(argv)
    with pytest.raises(SystemExit):
        parser.parse_args(["render", "x", "--lang", "cobol"])


def test_an_unknown_language_is_named():
    with pytest.raises(KeyError, match="unknown language 'cobol'; known: python, html, svg, latex, smiles"):
        language("cobol")


def test_the_canvas_sentence_follows_a_rows_render_conventions():
    from training.prompts import generate_prompt, optimize_prompt, row_conventions

    design2code = {"viewport_width": 1280, "viewport_height": 720, "full_page": True, "files_beside": False}
    prompt = generate_prompt("html", design2code)
    assert "1280 px wide" in prompt and "1024" not in prompt and "beside" not in prompt
    assert generate_prompt("html") == generate_prompt("html", None) and "1024 px wide" in generate_prompt("html")
    assert "figure size sets the picture size." in generate_prompt("python", {"savefig": "figure"})
    assert "224 px" in optimize_prompt("svg", "<svg/>", True, {"long_side": 224})
    assert row_conventions({"meta": '{"render": {"size": 300}}'}) == {"size": 300}
    assert row_conventions({"meta": "{}"}) is None
