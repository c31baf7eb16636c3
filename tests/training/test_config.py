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
    ("learning_rat: 1.0", "unknown field 'learning_rat' (did you mean 'learning_rate'?)"),
    ("[1, 2]", "expected a mapping"),
])
def test_bad_configs_fail_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        TrainConfig.load(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_config_lists_the_known_ones():
    with pytest.raises(ConfigError, match="does not exist .*tiny-sft"):
        TrainConfig.load("training/configs/nope.yaml")


def test_typed_values_and_undecodable_files_fail_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_steps: two\nlora: {r: eight}\n")
    with pytest.raises(ConfigError) as err:
        TrainConfig.load(bad)
    assert str(bad) in str(err.value) and "max_steps: Input should be a valid integer" in str(err.value)
    assert "got 'two'" in str(err.value) and "lora.r:" in str(err.value)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("# caf\xe9\nmax_steps: 2\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.yaml: not UTF-8 text \(byte 0xe9 on line 1\)"):
        TrainConfig.load(latin)
    assert TrainConfig.load(None, sets=["learning_rate=1e-5"]).learning_rate == 1e-5  # YAML's 1e-5 is a string


def test_packaged_configs_resolve_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert TrainConfig.load("tiny-sft").model == "tiny:qwen2-vl"
    assert TrainConfig.load("tiny-virl.yaml").num_generations == TrainConfig.load("training/configs/tiny-virl.yaml").num_generations
    with pytest.raises(ConfigError, match="packaged configs, by name: .*tiny-sft"):
        TrainConfig.load("tiny-sf")


def test_any_trl_field_is_settable_and_checked_against_trl(tmp_path):
    from training.sft import sft_args
    from training.virl import grpo_args

    cfg = TrainConfig.load("tiny-sft", stage="sft", sets=["weight_decay=0.25", "max_steps=3", "lora.r=4"],
                           output_dir=str(tmp_path))
    args = sft_args(cfg)
    assert (args.weight_decay, args.max_steps, cfg.lora.r) == (0.25, 3, 4)
    path = tmp_path / "grpo.yaml"
    path.write_text("model: 'tiny:qwen2-vl'\nbf16: false\nuse_cpu: true\nepsilon: 0.3\ntrl: {loss_type: grpo}\n")
    args = grpo_args(TrainConfig.load(path, stage="virl", output_dir=str(tmp_path)), [0.9, 0.1])
    assert (args.epsilon, args.loss_type) == (0.3, "grpo")
    with pytest.raises(ConfigError, match=r"'weigth_decay' \(did you mean 'weight_decay'\?\).*trl's SFTConfig"):
        TrainConfig.load("tiny-sft", stage="sft", sets=["weigth_decay=0.1"])
    with pytest.raises(ConfigError, match="'epsilon'.*nor a field of trl's SFTConfig"):
        TrainConfig.load(path, stage="sft")
    with pytest.raises(ConfigError, match="trl's SFTConfig refused it"):
        sft_args(TrainConfig.load("tiny-sft", stage="sft", sets=["eval_strategy=sometimes"], output_dir=str(tmp_path)))
