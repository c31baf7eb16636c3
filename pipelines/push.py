"""``vinci push``: upload a build folder to the Hub with ``huggingface_hub``.

Uses ``upload_large_folder`` (resumable, multi-commit) where the installed ``huggingface_hub``
has it (< 2.0), else ``upload_folder``, whose content-addressed pre-upload skips every file the
Hub already holds, so re-running an interrupted push only sends what is missing. The token comes
from the usual places (``HF_TOKEN``, ``hf auth login``) and is never printed.
"""
from __future__ import annotations

from pathlib import Path

from core.errors import VinciError

ALLOW = ["README.md", "stats.json", "manifest.lock.yaml", "data/*.parquet", "report/*"]


class PushError(VinciError, RuntimeError):
    """A push that cannot happen (no network, no token, no such build); the message says what to do."""


def files_to_upload(folder: str | Path) -> list[str]:
    root = Path(folder)
    if not (root / "README.md").exists() or not list((root / "data").glob("*.parquet")):
        raise PushError(f"{root} is not a finished build (no README.md or no data/*.parquet)")
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
    try:
        api.create_repo(repo_id=repo_id, repo_type="dataset", private=private, exist_ok=True)
        if hasattr(api, "upload_large_folder"):
            api.upload_large_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset", allow_patterns=ALLOW,
                                    private=private)
        else:
            api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset", allow_patterns=ALLOW,
                              commit_message=f"vinci push: {len(files)} files")
    except Exception as exc:  # noqa: BLE001 - huggingface_hub and its HTTP client raise many types
        raise PushError(f"push to {repo_id} failed: {hub_problem(exc)}") from exc
    return files


def hub_problem(exc: Exception) -> str:
    """What went wrong talking to the Hub, and what to do about it, in one line."""
    name = type(exc).__name__
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if "Connect" in name or "Timeout" in name or "Offline" in name or "NameResolution" in first:
        return f"cannot reach the Hugging Face Hub ({name}: {first}); check the network or HF_ENDPOINT"
    if status == 401 or "Token" in name:
        return f"not authenticated ({name}); set HF_TOKEN or run `hf auth login`"
    if status == 403:
        return f"not allowed to write to this repo ({name}: {first})"
    return f"{name}: {first}"
