from __future__ import annotations

import pytest

from pipelines.push import ALLOW, PushError, push


class RecordingApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, **kw):
        self.calls.append(("create_repo", kw))

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw))


class LegacyApi(RecordingApi):
    def upload_large_folder(self, **kw):
        self.calls.append(("upload_large_folder", kw))


def fake_build(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sft-00000-of-00001.parquet").write_bytes(b"PAR1")
    (tmp_path / "README.md").write_text("---\n---\n")
    (tmp_path / "stats.json").write_text("{}")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "u-000-00000.parquet").write_bytes(b"x")
    return tmp_path


def test_push_hands_the_right_calls_and_files_to_huggingface_hub(tmp_path):
    folder = fake_build(tmp_path)
    api = RecordingApi()
    files = push(folder, "org/corpus", private=True, api=api)
    assert files == ["README.md", "stats.json", "data/sft-00000-of-00001.parquet"]
    assert api.calls == [
        ("create_repo", {"repo_id": "org/corpus", "repo_type": "dataset", "private": True, "exist_ok": True}),
        ("upload_folder", {"repo_id": "org/corpus", "folder_path": str(folder), "repo_type": "dataset",
                           "allow_patterns": ALLOW, "commit_message": "vinci push: 3 files"}),
    ]
    legacy = LegacyApi()
    push(folder, "org/corpus", api=legacy)
    assert legacy.calls[1] == ("upload_large_folder", {"repo_id": "org/corpus", "folder_path": str(folder),
                                                       "repo_type": "dataset", "allow_patterns": ALLOW, "private": False})


def test_dry_run_lists_without_calling(tmp_path):
    folder = fake_build(tmp_path)
    assert push(folder, "org/corpus", dry_run=True, api=None) == ["README.md", "stats.json", "data/sft-00000-of-00001.parquet"]


def test_unfinished_build_is_refused(tmp_path):
    with pytest.raises(PushError, match="not a finished build"):
        push(tmp_path, "org/corpus", dry_run=True)


def test_the_installed_huggingface_hub_accepts_these_calls(tmp_path):
    """Bind our exact keyword arguments to the real HfApi signatures (no network)."""
    import inspect

    from huggingface_hub import HfApi

    folder = fake_build(tmp_path)
    recorded = RecordingApi() if not hasattr(HfApi, "upload_large_folder") else LegacyApi()
    push(folder, "org/corpus", api=recorded)
    for name, kwargs in recorded.calls:
        inspect.signature(getattr(HfApi, name)).bind(HfApi(), **kwargs)
