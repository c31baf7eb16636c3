"""Hub column maps, exercised on local fixtures loaded through ``datasets`` with ``data_files=``."""
from __future__ import annotations

import io
import json
from itertools import islice

import datasets
import pytest
from PIL import Image

from sources.base import SourceError, open_source
from sources.hub import COLUMN_MAPS, chat_code, parse_spec


def png(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), color).save(out, format="PNG")
    return out.getvalue()


CODE = {"python": "import matplotlib.pyplot as plt\nplt.plot([1, 2])", "html": "<html><body>hi</body></html>",
        "svg": '<svg xmlns="http://www.w3.org/2000/svg"><circle r="3"/></svg>', "latex": "\\begin{tikzpicture}\\draw (0,0)--(1,1);\\end{tikzpicture}",
        "smiles": "CCO"}


def fixture_rows(dataset_id: str) -> tuple[dict, datasets.Features]:
    cmap = COLUMN_MAPS[dataset_id]
    lang = cmap.lang or "svg"
    if cmap.chat:
        turns = [[{"role": "user", "content": "<image>Write the code."},
                  {"role": "assistant", "content": f"Here it is:\n```{lang}\n{CODE[lang]}\n```"}]] * 2
        if cmap.code == "conversations":
            turns = [[{"from": "human", "value": "<image>"}, {"from": "gpt", "value": f"```{lang}\n{CODE[lang]}\n```"}]] * 2
        rows = {cmap.code: turns}
        features = {cmap.code: [{k: datasets.Value("string") for k in turns[0][0]}]}
    else:
        rows = {cmap.code: [CODE[lang]] * 2}
        features = {cmap.code: datasets.Value("string")}
    if cmap.image:
        image = {"bytes": png(), "path": None}
        if cmap.image == "images":
            rows[cmap.image] = [[image], [image]]
            features[cmap.image] = datasets.Sequence(datasets.Image())
        else:
            rows[cmap.image] = [image, image]
            features[cmap.image] = datasets.Image()
    rows["extra"] = ["a", "b"]
    features["extra"] = datasets.Value("string")
    return rows, datasets.Features(features)


@pytest.mark.parametrize("dataset_id", sorted(COLUMN_MAPS))
@pytest.mark.parametrize("streaming", [True, False])
def test_column_map_on_a_local_fixture(tmp_path, dataset_id, streaming):
    rows, features = fixture_rows(dataset_id)
    path = tmp_path / "train-00000.parquet"
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))
    samples = list(islice(open_source(f"hub:{dataset_id}", options={"data_files": str(path), "split": "train",
                                                                      "streaming": streaming}), 5))
    cmap = COLUMN_MAPS[dataset_id]
    assert len(samples) == 2
    first = samples[0]
    assert first.lang == (cmap.lang or "svg")
    assert first.code == CODE[first.lang]
    assert first.source == f"hub:{dataset_id}" and first.source_ref == f"{dataset_id}@train#0"
    if cmap.image:
        assert first.image == png()
    assert samples[1].source_ref.endswith("#1")


def test_missing_column_names_what_was_found(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"markup": "<svg/>", "id": 1}) + "\n")
    with pytest.raises(SourceError) as err:
        list(open_source("hub:starvector/svg-stack", options={"data_files": str(path)}))
    assert "Svg" in str(err.value) and "markup" in str(err.value) and "id" in str(err.value)


def test_generic_dataset_with_options_and_bad_rows(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [{"src": "CCN"}, {"src": ""}, {"src": None}]) + "\n")
    samples = list(open_source("hub:someone/molecules", options={"data_files": str(path), "code_column": "src", "lang": "smiles"}))
    assert [s.code for s in samples] == ["CCN", "", ""]
    assert samples[1].meta["harvest_error"] == "empty code"


def test_unknown_dataset_without_options_is_refused():
    with pytest.raises(SourceError, match="no registered column map"):
        open_source("hub:someone/else")


def test_spec_parsing_and_fence_language():
    assert parse_spec("org/name:cfg@validation") == ("org/name", "cfg", "validation")
    assert parse_spec("org/name") == ("org/name", None, None)
    lang, code = chat_code([{"role": "assistant", "content": "```py\nx = 1\n```\nthen\n```tikz\n\\draw;\n```"}])
    assert (lang, code) == ("latex", "\\draw;")
