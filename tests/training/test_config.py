"""Training configs: validated on load as the manifest is (did you mean, one line naming the file and key);
trl's fields come from trl's own config classes; the vLLM switch reaches trl's GRPOConfig."""
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
    ("vllm: {gpu_memory: 0.5}", "vllm.gpu_memory: unknown field (did you mean 'gpu_memory_utilization'?); known fields here: mode,"),
    ("lora: {alpha: 8, dropuot: 0.1}", "lora.dropuot: unknown field (did you mean 'dropout'?)"),
    ("reward: {encodr: pixel}", "reward.encodr: unknown field (did you mean 'encoder'?)"),
    ("reward: {cls: mean}", "reward cls must be one of ['release', 'pooler'], not 'mean'"),
    ("reward: {workers: 0}", "reward.workers: Input should be greater than or equal to 1 (got 0)"),
    ("trl: {output_dir: x}", "trl.output_dir is vinci's field too"),
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
    assert TrainConfig.load(None, sets=["learning_rate=1e-5"]).trl_value("learning_rate") == 1e-5  # YAML's 1e-5 is a string


def test_packaged_configs_resolve_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert TrainConfig.load("tiny-sft").model == "tiny:qwen2-vl"
    assert TrainConfig.load("tiny-virl.yaml").trl_value("num_generations") == TrainConfig.load("training/configs/tiny-virl.yaml").trl_value("num_generations") == 2
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


def test_trl_fields_come_from_trls_own_classes(tmp_path):
    """A trl field vinci never names (``max_grad_norm``) is settable and typed by trl's hint; vinci's defaults are
    fields of trl's classes with values of trl's types; only the fields vinci reads itself are declared twice."""
    from dataclasses import fields

    from trl import GRPOConfig, SFTConfig

    from training.config import SHARED, TRL_DEFAULTS, check_trl_values
    from training.sft import sft_args

    trl_fields = {f.name for kind in (SFTConfig, GRPOConfig) for f in fields(kind)}
    assert set(TRL_DEFAULTS) <= trl_fields
    assert check_trl_values("x", TRL_DEFAULTS, None)[1] == []
    assert set(TrainConfig.model_fields) & trl_fields == set(SHARED)
    cfg = TrainConfig.load("tiny-sft", stage="sft", sets=["max_grad_norm=0.5"], output_dir=str(tmp_path))
    args = sft_args(cfg)
    assert (args.max_grad_norm, args.learning_rate, args.output_dir, args.bf16) == (0.5, 5e-3, str(tmp_path), False)
    assert not hasattr(args, "num_generations")  # a GRPO default never reaches SFTConfig
    with pytest.raises(ConfigError) as err:
        TrainConfig.load("tiny-sft", stage="sft", sets=["max_grad_norm=big", "lora.r=0"])
    message = str(err.value)
    assert message.startswith(str(config_file("tiny-sft")) + ": ") and "\n" not in message
    assert "max_grad_norm: Input should be a valid number" in message and "(got 'big')" in message
    assert "lora.r: Input should be greater than 0 (got 0)" in message


def test_the_train_command_reports_a_bad_config_in_one_line(tmp_path, capsys):
    from pipelines.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("reward: {encodr: pixel}\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "virl-00000-of-00001.parquet").touch()  # the corpus check (first) passes
    assert main(["train", "virl", "--data", str(tmp_path), "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {bad}: reward.encodr: unknown field (did you mean 'encoder'?); known fields here: " + \
        ", ".join(__import__("training.rewards").rewards.RewardConfig.model_fields) + "\n"


def config_file(name):
    from training.config import config_path

    return config_path(name)


def test_every_packaged_config_loads_for_its_stage():
    from training.config import packaged_configs

    for name in packaged_configs():
        stage = "virl" if "virl" in name else "sft"
        cfg = TrainConfig.load(name, stage=stage)
        assert cfg.model and cfg.split == stage, name
