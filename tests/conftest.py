"""Shared fixtures: one warm render service for the whole session (pools start once)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def service():
    from filters.render import RenderService

    with RenderService(workers=1, timeout_s=5.0) as svc:
        yield svc


def render_one(service, lang: str, code: str):
    return service.render_many([(lang, code)])[0]


def image_of(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")
