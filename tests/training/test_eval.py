"""Eval inputs: a split that exists, rows drawn evenly across languages, a generation budget from the references."""
from __future__ import annotations

import pytest

from training.data import load_split
from training.eval import EvalError, auto_max_new_tokens, pick_rows, pick_split, tanimoto


@pytest.mark.renders
def test_default_split_is_one_that_exists(demo_corpus, tmp_path):
    assert pick_split(demo_corpus, None) == "virl"
    assert pick_split(demo_corpus, "sft") == "sft"
    with pytest.raises(EvalError, match="no split 'test'; it has: sft, virl"):
        pick_split(demo_corpus, "test")
    assert pick_split("org/some-dataset", None) == "test"


@pytest.mark.renders
@pytest.mark.needs_chromium
@pytest.mark.needs_tex
def test_rows_are_drawn_evenly_across_languages(demo_corpus):
    ds = load_split(demo_corpus, "sft")
    counts = {}
    for n in (3, 7, None):
        langs = [r["lang"] for r in pick_rows(ds, n)]
        counts[n] = {lang: langs.count(lang) for lang in set(langs)}
    assert counts[3] == {"python": 1, "smiles": 1, "svg": 1}
    assert sorted(counts[7].values()) == [2, 2, 3]
    assert counts[None] == {"python": 3, "smiles": 5, "svg": 6}
    assert all(r["task"] == "generate" for r in pick_rows(ds, None))
    assert [r["id"] for r in pick_rows(ds, 5, seed=1)] == [r["id"] for r in pick_rows(ds, 5, seed=1)]


def test_generation_budget_follows_the_references():
    class Chars:
        def __call__(self, text):
            return {"input_ids": list(text)}

    short = [{"lang": "smiles", "code": "CCO"}]
    long = [{"lang": "svg", "code": "<svg>" + "x" * 400 + "</svg>"}]
    assert auto_max_new_tokens(Chars(), short) == 64
    assert auto_max_new_tokens(Chars(), long) == int((len("```svg\n\n```") + 411) * 1.25 + 16)
    assert auto_max_new_tokens(Chars(), [{"lang": "svg", "code": "x" * 5000}]) == 1024


def test_tanimoto_reads_the_reference_smiles_only():
    assert tanimoto("CCO ethanol", "CCO") == 1.0
    assert 0 < tanimoto("CCO", "CCN") < 1 and tanimoto("CCO", None) == 0.0 and tanimoto("CCO", "C1CC") == 0.0


@pytest.mark.renders
def test_the_contact_sheet_labels_each_pair_and_says_why_nothing_rendered(demo_corpus, tmp_path, capsys):
    import io

    import numpy as np
    from PIL import Image

    from training.answers import Answer
    from training.data import as_image
    from training.eval import Scored, print_table, sheet

    rows = pick_rows(load_split(demo_corpus, "virl"), 2)
    parts = {"visual": 0.0, "total": 0.0, "format": 1.0, "executed": 0.0, "coarse": 0.0, "fine": 0.0}
    png = io.BytesIO()
    as_image(rows[0]["image"]).save(png, "PNG")
    scored = [Scored(rows[0], "", Answer(rows[0]["code"]), png.getvalue(), None, {**parts, "visual": 1.0, "total": 1.0}),
              Scored(rows[1], "", Answer(None, "no fenced block"), None, "runtime: NameError: name 'x' is not defined", parts)]
    sheet(scored, tmp_path / "sheet.png")
    pixels = np.asarray(Image.open(tmp_path / "sheet.png").convert("RGB")).astype(int)
    label_band = pixels[:18]
    assert (label_band.sum(axis=2) < 200).any(), "the first pair carries a label"
    second = pixels[18 + 200 + 10:]
    red = (second[..., 0] > 120) & (second[..., 1] < 80) & (second[..., 2] < 80)
    assert red[:, 210:].sum() > 50, "the grey box of the failed render carries its error text"
    print_table({"svg": {"n": 2, "format": 1.0, "execution": 0.5, "visual": 0.5, "coarse": 0.5, "fine": 0.5, "ssim": 0.5}},
                "virl", demo_corpus)
    assert f"split 'virl' of {demo_corpus}: 2 rows" in capsys.readouterr().out
