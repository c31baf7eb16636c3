"""The before/after row check of refactorings sees a changed byte, a moved row and a lost row."""
from __future__ import annotations

from benchmarks.build_compare import differences


def test_differences_name_the_row_and_column():
    rows = [{"id": "a", "image": b"1", "meta": {}}, {"id": "b", "image": b"2", "meta": {}}]
    assert differences(rows, [dict(r) for r in rows]) == []
    assert differences(rows, [rows[0], {**rows[1], "image": b"3"}]) == ["row 1 (b / b): image"]
    assert differences(rows, rows[::-1]) == ["row 0 (a / b): id, image", "row 1 (b / a): id, image"]
    assert differences(rows, rows[:1]) == ["2 rows before, 1 after"]
