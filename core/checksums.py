"""Checksums of written files and the identity of a build folder made of them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def content_id(sums: dict[str, dict]) -> str:
    """A build's identity: the hash of its shards' names and checksums. The card puts it in its
    ``datasets`` config, so ``load_dataset(DIR)`` after a rebuild cannot reuse the old build's cache
    (``datasets`` keys a local folder's cache by its name and config, not by the files' content)."""
    return hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
