"""Training configs: validated on load, errors name the file; the vLLM switch reaches trl's GRPOConfig."""
from __future__ import annotations

import pytest

from training.config import ConfigError, TrainConfig


def test_vllm_section_reaches_grpo_config(tmp_path):
    from training.virl import grpo_args

    cfg = TrainConfig.load("training/configs/qwen2.5-vl-7b-virl-vllm.yaml", output_dir=str(tmp_path), bf16=False)
    args = grpo_args(cfg, [0.9, 0.1])
    assert (args.use_vllm, args.vllm_mode, args.vllm_gpu_memory_utilization) == (True, "colocate", 0.3)
    assert (args.vllm_max_model_length, args.vllm_enable_sleep_mode) == (8192, True)
    server = tmp_path / "server.yaml"
    server.write_text("vllm: {mode: server, server_base_url: 'http://gen:8000'}\nbf16: false\n")
    args = grpo_args(TrainConfig.load(server, output_dir=str(tmp_path)), [0.9, 0.1])
    assert (args.use_vllm, args.vllm_mode, args.vllm_server_base_url) == (True, "server", "http://gen:8000")
    plain = grpo_args(TrainConfig.load("training/configs/tiny-virl.yaml", output_dir=str(tmp_path)), [0.9, 0.1])
    assert plain.use_vllm is False


@pytest.mark.parametrize("text,message", [
    ("vllm: {mode: remote}", "vllm.mode must be 'colocate' or 'server'"),
    ("vllm: {gpu_memory: 0.5}", "unknown vllm field(s) ['gpu_memory']"),
    ("learning_rat: 1.0", "unknown training config field(s) ['learning_rat']"),
    ("[1, 2]", "expected a mapping"),
])
def test_bad_configs_fail_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        TrainConfig.load(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_config_lists_the_known_ones():
    with pytest.raises(ConfigError, match="tiny-sft.yaml"):
        TrainConfig.load("training/configs/nope.yaml")
