"""The reward's image encoder: DINOv2 from a folder, the Hub cache, the Hub, or ``tiny:dinov2`` built here.

Offline, ``from_pretrained`` of an uncached Hub id retries for about a minute and then raises a
traceback; a user wants one line that says what to pass instead, at once.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from core.errors import VinciError

TINY_DINOV2 = "tiny:dinov2"
DEFAULT_ENCODER = "facebook/dinov2-large"


class EncoderUnavailable(VinciError, RuntimeError):
    """The encoder cannot be loaded here; the message says what to pass instead."""


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vinci"


def resolve_encoder(spec: str, workdir: str | Path | None = None) -> str:
    """A folder for ``tiny:dinov2`` (built once under ``workdir`` or the user cache); other specs as given."""
    if spec != TINY_DINOV2:
        return spec
    from .models import build_tiny_dinov2

    return str(build_tiny_dinov2(Path(workdir or cache_root()) / "tiny-dinov2"))


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """One TCP connect to the Hub endpoint: seconds, where the Hub clients' retries take about a minute."""
    if hub_offline():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def load_encoder_model(spec: str, workdir: str | Path | None = None):
    """The ``transformers`` model behind an encoder spec, or ``EncoderUnavailable`` in one line."""
    from transformers import AutoModel

    path = resolve_encoder(spec, workdir)
    hint = f"pass --encoder {TINY_DINOV2} (random weights, for tries) or a folder saved with save_pretrained"
    if Path(path).is_dir():
        try:
            return AutoModel.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise EncoderUnavailable(f"encoder folder {path} cannot be loaded ({type(exc).__name__}); {hint}") from None
    if Path(path).exists() or path.startswith((".", "/")):
        raise EncoderUnavailable(f"encoder {path!r} is not a folder; {hint}")
    if not hub_reachable():
        from huggingface_hub import snapshot_download

        try:
            return AutoModel.from_pretrained(snapshot_download(path, local_files_only=True))
        except Exception:  # noqa: BLE001 - not cached, or cached incompletely: the same advice either way
            raise EncoderUnavailable(f"encoder {path!r} is not in the local Hugging Face cache and the Hub cannot be "
                                     f"reached; {hint}") from None
    try:
        return AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise EncoderUnavailable(f"encoder {path!r} cannot be loaded from the Hub ({type(exc).__name__}); {hint}") from None
