"""Rows become training examples; a change of that code is never hidden by ``datasets``' cache."""
from __future__ import annotations

import pytest

import training.data as data

pytestmark = pytest.mark.renders  # the demo corpus is rendered through the sandboxed pool


def whole_conversation(row: dict) -> dict:
    """The example shape of an earlier vinci (one ``messages`` column), under the current function's name."""
    prompt, images = data.user_turn(row)
    return {"messages": prompt, "images": images, "length": 0}


whole_conversation.__qualname__ = data.to_sft_example.__qualname__
whole_conversation.__module__ = data.to_sft_example.__module__  # what datasets' hash of a module function sees


def test_changed_example_code_is_not_served_from_the_cache(demo_corpus, monkeypatch):
    """An earlier format cached for this corpus (same function name, same dataset) must not come back once the
    code that makes examples changed: ``datasets``' own fingerprint served the stale cache here."""
    monkeypatch.setattr(data, "examples_version", lambda: "an-earlier-vinci")
    monkeypatch.setattr(data, "to_sft_example", whole_conversation)
    assert "messages" in data.sft_dataset(demo_corpus, "sft").column_names
    monkeypatch.undo()
    now = data.sft_dataset(demo_corpus, "sft")
    assert {"prompt", "completion"} <= set(now.column_names) and "messages" not in now.column_names
    again = data.sft_dataset(demo_corpus, "sft")
    assert again._fingerprint == now._fingerprint and again.cache_files == now.cache_files  # unchanged code: cached


def test_examples_version_follows_the_source(monkeypatch, tmp_path):
    copy = tmp_path / "prompts.py"
    copy.write_text(open(data.__file__.replace("data.py", "prompts.py")).read() + "\n# changed\n")
    before = data.examples_version()
    from training import prompts

    monkeypatch.setattr(prompts, "__file__", str(copy))
    assert data.examples_version() != before
