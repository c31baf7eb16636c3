"""The language registry: every entry complete, its modules and hooks doing what the pipeline asks on real input, and
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


SAME_CODE_REFORMATTED = {  # each language's own comment and layout, around a generator's real sample
    "python": lambda code: "# harvested\n\n" + code + "\n\n",
    "html": lambda code: "<!-- harvested -->\n" + code.replace("><", ">\n  <") + "\n",
    "svg": lambda code: "<!-- harvested -->\n" + code.replace("><", ">\n  <") + "\n",
    "latex": lambda code: "% harvested\n" + code + "\n",
    "smiles": lambda code: _random_smiles(code) + " harvested",
}


def _random_smiles(code: str) -> str:
    from rdkit import Chem

    return Chem.MolToSmiles(Chem.MolFromSmiles(code), doRandom=True, rootedAtAtom=1)


def _samples(lang, n=3):
    return [s.code for s in islice(importlib.import_module(lang.generator).generate(seed=5, start=0), n)]


@pytest.mark.parametrize("name", LANGS)
def test_the_normalise_hook_makes_reformatted_copies_equal_and_keeps_different_code_apart(name):
    from filters.dedup import normalize_code

    lang = LANGUAGES[name]
    codes = _samples(lang)
    for code in codes:
        assert normalize_code(name, SAME_CODE_REFORMATTED[name](code)) == normalize_code(name, code)
    assert len({normalize_code(name, code) for code in codes}) == len(set(codes))


@pytest.mark.parametrize("name", LANGS)
def test_the_file_hooks_give_the_units_of_a_real_file(name, tmp_path):
    from sources.files import code_of_file, open_tree, text_of, units

    lang = LANGUAGES[name]
    code = _samples(lang, 1)[0]
    path = tmp_path / f"sample{lang.extensions[0]}"
    path.write_text(code + (" aspirin\n" if name == "smiles" else ""))
    tree = open_tree(str(tmp_path))
    found = list(units(tree, path.name, text_of(tree, path.name)))
    assert [(u[0], u[1]) for u in found] == [(name, code)]
    assert code_of_file(path, name) == code
    for ext in lang.container_extensions:  # a table of molecules: .csv column, SD records
        table = tmp_path / f"table{ext}"
        if ext == ".csv":
            table.write_text(f"name,smiles\naspirin,{code}\n")
        else:
            from rdkit import Chem

            table.write_text(Chem.MolToMolBlock(Chem.MolFromSmiles(code)) + "$$$$\n")
        tree = open_tree(str(tmp_path))
        units_of_table = list(units(tree, table.name, text_of(tree, table.name)))
        assert len(units_of_table) == 1 and units_of_table[0][0] == name
        assert normalize(name, units_of_table[0][1]) == normalize(name, code)


def normalize(name, code):
    from filters.dedup import normalize_code

    return normalize_code(name, code)


@pytest.mark.parametrize("name", LANGS)
def test_the_answer_hooks_judge_a_real_answer(name):
    from training.answers import judge

    lang = LANGUAGES[name]
    code = _samples(lang, 1)[0].strip("\n")
    tag = lang.fence_tags[0]
    answer = judge(f"Here it is.\n```{tag}\n{code}\n```\nDone.", name)
    assert answer.ok and answer.code == (code.strip() if name == "smiles" else code)
    first_line = code.splitlines()[0]
    assert judge(f"{first_line}\n```{tag}\n{code}\n```", name).reason == "code_outside_block"
    if lang.answer_code:  # the language's own last check refuses what its renderer would forgive
        assert judge(f"```{tag}\n{code} scale scale\n```", name).reason == "smiles_not_one_ascii_token"


@pytest.mark.parametrize("name", LANGS)
def test_the_eval_metrics_of_a_language_score_real_answers(name):
    from core.languages import EVAL_METRICS, resolve_hook

    lang = LANGUAGES[name]
    codes = _samples(lang, 2)
    assert {metric for metric, _ in lang.eval_metrics} <= set(EVAL_METRICS)
    for metric, target in lang.eval_metrics:
        score = resolve_hook(target)
        assert score(codes[0], codes[0]) == 1.0 and score(codes[0], None) == 0.0
        assert 0.0 <= score(codes[0], codes[1]) < 1.0


@pytest.mark.parametrize("name", LANGS)
def test_task_and_prompt_words_name_the_language_in_vincicoder_rows(name):
    from sources.hub.layouts import prompt_language, task_language

    lang = LANGUAGES[name]
    assert lang.task_words and all(task_language(f"data/{word}2code_refine.parquet") == name for word in lang.task_words)
    assert all(prompt_language(f"Write the {word.upper()} code of this picture.") == name for word in lang.prompt_words)
