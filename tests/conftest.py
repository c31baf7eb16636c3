"""Shared fixtures: one warm render service for the whole session (pools start once); the markers
that say what a test needs (``pyproject.toml``), and a skip naming the tool where it is missing."""
from __future__ import annotations

import functools
import io
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def missing_chromium() -> str | None:
    from filters.render.html import chromium_executable

    return None if chromium_executable() else "Chromium is not installed (apt-get install chromium, or make test)"


def missing_tex() -> str | None:
    if shutil.which("pdflatex") is None:
        return "pdflatex is not installed (apt-get install texlive-latex-extra texlive-pictures, or make test)"
    return None


def missing_bwrap() -> str | None:
    from filters.render.sandbox import NAMESPACES, detect_isolation

    if detect_isolation() != NAMESPACES:
        return "bubblewrap cannot create namespaces here (apt-get install bubblewrap, or make test)"
    return None


NEEDS = {"needs_chromium": missing_chromium, "needs_tex": missing_tex, "needs_bwrap": missing_bwrap}


@functools.cache
def missing(marker: str) -> str | None:
    return NEEDS[marker]()


def pytest_runtest_setup(item):
    for marker in NEEDS:
        if item.get_closest_marker(marker) is not None and (reason := missing(marker)):
            pytest.skip(reason)


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
