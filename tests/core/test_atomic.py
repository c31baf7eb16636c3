"""All-or-nothing writes: a failed write leaves the old file and no temporary behind."""
from __future__ import annotations

import pytest

from core.atomic import atomic_path, leftovers, write_json, write_text


def test_a_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "stats.json"
    write_text(target, "old")
    write_json(target, {"b": 1, "a": "é"})
    assert target.read_text() == '{\n "a": "é",\n "b": 1\n}' and leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "card.md"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a card")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and leftovers(tmp_path) == []
