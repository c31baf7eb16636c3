"""The CLIP score's encoder: a transformers CLIPModel by id or path (here a tiny one built from a config)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from training.benchmarks.clip_score import ClipScorer, masked_square


def png(color, size=(320, 200)) -> bytes:
    buf = io.BytesIO()
    picture = Image.new("RGB", size, color)
    picture.paste((0, 0, 0), (10, 10, 120, 60))
    picture.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = tmp_path_factory.mktemp("clip")
    torch.manual_seed(0)
    config = CLIPConfig(text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                                     "vocab_size": 100, "max_position_embeddings": 16},
                        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                                       "image_size": 224, "patch_size": 32}, projection_dim=16)
    CLIPModel(config).save_pretrained(str(folder))
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(str(folder))
    return ClipScorer(str(folder))


def test_screenshots_are_squeezed_to_a_square_of_their_shorter_side():
    assert masked_square(png("white"), []).size == (200, 200)


def test_same_pictures_score_one_and_others_less(scorer):
    same = scorer.similarity(masked_square(png("white"), []), masked_square(png("white"), []))
    other = scorer.similarity(masked_square(png("white"), []), masked_square(png((30, 90, 200)), []))
    assert same == pytest.approx(1.0, abs=1e-6) and other < 0.999


def test_a_model_that_cannot_be_loaded_is_a_reason_not_a_number(tmp_path):
    scorer = ClipScorer(str(tmp_path / "no-such-model"))
    assert scorer._load().startswith("cannot load CLIP model")


def test_text_boxes_are_inpainted_when_opencv_is_there():
    pytest.importorskip("cv2")
    masked = np.asarray(masked_square(png("white"), [(10 / 320, 10 / 200, 110 / 320, 50 / 200)]))
    assert masked.min() > 200  # the black box is filled from the white around it


def test_without_a_network_an_uncached_model_fails_at_once_with_its_reason(monkeypatch):
    """No download is tried where the Hub does not answer (here: a closed local port), so the reason comes
    after one connection attempt instead of the Hub client's retries."""
    from training.benchmarks import clip_score

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert not clip_score.hub_reachable()
    reason = ClipScorer("vinci-tests/no-such-clip-model")._load()
    assert reason.startswith("cannot load CLIP model 'vinci-tests/no-such-clip-model'") and "cannot be reached" in reason
