"""Tiny models are saved all or nothing: a failed save leaves no folder a later call takes for a model."""
from __future__ import annotations

import pytest

from core.atomic import leftovers
from training import models


def test_a_model_save_that_fails_midway_leaves_nothing_and_the_next_one_builds(tmp_path, monkeypatch):
    real_save = models.save_model

    def crash_after_the_config(model, folder):
        model.config.save_pretrained(folder)
        raise OSError("disk full")

    monkeypatch.setattr(models, "save_model", crash_after_the_config)
    with pytest.raises(OSError, match="disk full"):
        models.build_tiny_dinov2(tmp_path / "enc")
    assert not (tmp_path / "enc").exists() and not leftovers(tmp_path)

    monkeypatch.setattr(models, "save_model", real_save)
    folder = models.build_tiny_dinov2(tmp_path / "enc")
    assert (folder / "config.json").exists() and any(folder.glob("*.safetensors")) and not leftovers(tmp_path)
    assert models.build_tiny_dinov2(folder) == folder
