"""``vinci push``: upload a build folder to the Hub with ``huggingface_hub``.

Uses ``upload_large_folder`` (resumable, multi-commit) where the installed ``huggingface_hub``
has it (< 2.0), else ``upload_folder``, whose content-addressed pre-upload skips every file the
Hub already holds, so re-running an interrupted push only sends what is missing. The token comes
from the usual places (``HF_TOKEN``, ``hf auth login``) and is never printed.
"""
from __future__ import annotations

from pathlib import Path

ALLOW = ["README.md", "stats.json", "manifest.lock.yaml", "data/*.parquet", "report/*"]


def files_to_upload(folder: str | Path) -> list[str]:
    root = Path(folder)
    if not (root / "README.md").exists() or not list((root / "data").glob("*.parquet")):
        raise SystemExit(f"error: {root} is not a finished build (no README.md or no data/*.parquet)")
    out = []
    for pattern in ALLOW:
        out.extend(sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file()))
    return out


def push(folder: str | Path, repo_id: str, private: bool = False, dry_run: bool = False, api=None) -> list[str]:
    files = files_to_upload(folder)
    if dry_run:
        return files
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id=repo_id, repo_type="dataset", private=private, exist_ok=True)
    if hasattr(api, "upload_large_folder"):
        api.upload_large_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset", allow_patterns=ALLOW,
                                private=private)
    else:
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset", allow_patterns=ALLOW,
                          commit_message=f"vinci push: {len(files)} files")
    return files
