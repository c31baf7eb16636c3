"""On-policy refine rows: a model's flawed answers become verified optimize rows in a build-compatible folder."""
from __future__ import annotations

import pytest

from training.data import load_split, sft_dataset
from training.eval import score
from training.folders import undecoded
from training.refine import write_failures
from training.rewards import RewardConfig, VisualCodeReward

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

BLUE_BOX = '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect x="20" y="20" width="260" height="160" fill="#1f4fd1"/></svg>'
OTHER_CHART = "import matplotlib.pyplot as plt\nplt.figure(figsize=(5, 4))\nplt.plot([0, 1, 2], [2, 0, 1], color='green')\n"


def fence(lang, code):
    return f"Here is my attempt.\n```{lang}\n{code}\n```"


@pytest.fixture(scope="module")
def scored(demo_corpus, service, tiny_dinov2):
    rows = [dict(r) for r in undecoded(load_split(demo_corpus, "virl"))]
    svg = [r for r in rows if r["lang"] == "svg"]
    smiles = [r for r in rows if r["lang"] == "smiles"]
    python = [r for r in rows if r["lang"] == "python"]
    cases = [
        (svg[0], fence("svg", svg[0]["code"])),          # exact: nothing to refine
        (svg[1], fence("svg", BLUE_BOX)),                # renders, visibly different: a visual refine row
        (smiles[0], fence("smiles", "C1CC")),            # unclosed ring: an error refine row
        (smiles[1], "I cannot draw this."),             # no code to correct
        (python[0], fence("python", OTHER_CHART)),       # a different chart
    ]
    reward = VisualCodeReward(RewardConfig(encoder=tiny_dinov2), service=service)
    return score([r for r, _ in cases], [c for _, c in cases], reward)


def test_flawed_answers_become_optimize_rows(scored, tmp_path, service):
    import datasets

    out = tmp_path / "refine"
    outcomes = write_failures(scored, out, model_id="m", data="d", split="virl")
    assert outcomes == {"exact": 1, "kept": 3, "no_code:no_block": 1}
    rows = list(datasets.load_dataset(str(out), split="sft").cast_column("flawed_image", datasets.Image(decode=False)))
    assert {r["perturbation"] for r in rows} == {"onpolicy.visual", "onpolicy.syntax_error"}
    assert all(r["task"] == "optimize" and r["source"] == "onpolicy:m" for r in rows)
    for row in rows:
        reference = next(s.row for s in scored if s.row["id"] == row["source_ref"])
        assert row["code"] == reference["code"] and row["flawed_code"] != row["code"]
        rendered = service.render_many([(row["lang"], row["flawed_code"])])[0]
        if row["perturbation"] == "onpolicy.visual":
            assert rendered.ok and rendered.png == row["flawed_image"]["bytes"]
        else:
            assert not rendered.ok and rendered.error_kind == "syntax" and row["flawed_image"] is None


def test_refine_folder_trains_as_sft_data(scored, tmp_path):
    out = tmp_path / "refine"
    write_failures(scored, out, model_id="m", data="d", split="virl")
    examples = sft_dataset(str(out), "sft")
    assert len(examples) == 3
    assert sorted(len(e["images"]) for e in examples) == [1, 2, 2]
    assert all(e["completion"][0]["content"][0]["text"].startswith("```") for e in examples)


def test_rewriting_a_refine_folder_replaces_its_rows(scored, tmp_path):
    out = tmp_path / "refine"
    write_failures(scored, out, model_id="m", data="d", split="virl")
    write_failures(scored[:2], out, model_id="m", data="d", split="virl")
    assert len(load_split(str(out), "sft")) == 1
    assert not list(tmp_path.glob(".refine*"))
