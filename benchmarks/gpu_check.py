"""GPU check (run on a lent GPU machine; nothing is downloaded there): random weights from the real configs.

1. DINOv2-large visual reward on a batch of 256 (target, render) pairs: rewards/s with cold and
   warm target caches, crops per second through the encoder.
2. One GRPO step of a Qwen2.5-VL-3B-sized model with 8 rollouts, through ``training``'s reward.

    python benchmarks/gpu_check.py --pairs .gpu/pairs.parquet --prompts .gpu/prompts.parquet --tokenizer .gpu/tok
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def reward_throughput(pairs_path: str) -> dict:
    import pyarrow.parquet as pq
    import torch
    from transformers import Dinov2Config, Dinov2Model

    from training.rewards import DinoEncoder, RewardConfig, VisualCodeReward, crops

    rows = pq.read_table(pairs_path).to_pylist()
    config = Dinov2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                          patch_size=14, image_size=518)
    with torch.device("cuda"):
        model = Dinov2Model(config).to(torch.bfloat16)
    reward = VisualCodeReward(RewardConfig(encoder_batch=128), service=object(),
                              encoder=DinoEncoder("unused", "cuda", model=model))
    targets = [r["target"] for r in rows]
    renders = [r["render"] for r in rows]
    reward.score_rendered(renders[:8], targets[:8])
    reward._targets.clear()
    torch.cuda.synchronize()
    t = time.perf_counter()
    cold = reward.score_rendered(renders, targets)
    torch.cuda.synchronize()
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    reward.score_rendered(renders, targets)
    torch.cuda.synchronize()
    warm_s = time.perf_counter() - t
    from training.data import as_image

    n_crops = sum(len(crops(as_image(x), device="cuda")) for x in renders)
    t = time.perf_counter()
    batch = torch.cat([crops(as_image(x), device="cuda") for x in renders[:64]])
    torch.cuda.synchronize()
    prep_s = time.perf_counter() - t
    t = time.perf_counter()
    reward.encoder.embed(batch, 128)
    torch.cuda.synchronize()
    enc_s = time.perf_counter() - t
    return {"pairs": len(rows), "render_crops": n_crops, "cold_cache_s": round(cold_s, 3),
            "cold_rewards_per_s": round(len(rows) / cold_s, 1), "warm_cache_s": round(warm_s, 3),
            "warm_rewards_per_s": round(len(rows) / warm_s, 1), "encoder_crops_per_s": round(len(batch) / enc_s, 1),
            "crop_prep_ms_per_crop": round(prep_s / len(batch) * 1000, 2), "mean_visual": round(sum(p["visual"] for p in cold) / len(cold), 4),
            "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}


def grpo_step(prompts_path: str, tokenizer_dir: str, out: str) -> dict:
    import datasets
    import pyarrow.parquet as pq
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from trl import GRPOConfig, GRPOTrainer

    from training.data import to_grpo_example
    from training.models import load_processor
    from training.rewards import DinoEncoder, RewardConfig, VisualCodeReward

    processor = load_processor(tokenizer_dir)
    processor.image_processor.max_pixels = 448 * 448
    tok = processor.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>",
                                                      "<|vision_start|>", "<|vision_end|>")}
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                         num_attention_heads=16, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6,
                         rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]}, tie_word_embeddings=True,
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=2048,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[7, 15, 23, 31], in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    t = time.perf_counter()
    with torch.device("cuda"):
        model = Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    build_s = time.perf_counter() - t
    params = sum(p.numel() for p in model.parameters())
    rows = pq.read_table(prompts_path).to_pylist()
    dataset = datasets.Dataset.from_list([to_grpo_example({"lang": r["lang"], "image": r["target"], "code": r["code"],
                                                           "task": "generate"}) for r in rows])
    from transformers import Dinov2Config, Dinov2Model

    with torch.device("cuda"):
        encoder = Dinov2Model(Dinov2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                           intermediate_size=4096, patch_size=14, image_size=518)).to(torch.bfloat16)
    reward = VisualCodeReward(RewardConfig(workers=8, timeout_s=20), encoder=DinoEncoder("unused", "cuda", model=encoder))
    args = GRPOConfig(output_dir=out, bf16=True, gradient_checkpointing=True, learning_rate=1e-6, max_steps=1,
                      per_device_train_batch_size=8, gradient_accumulation_steps=1, num_generations=8,
                      max_completion_length=256, temperature=1.0, beta=0.0, logging_steps=1, report_to="none",
                      save_strategy="no", reward_weights=[0.9, 0.1])
    trainer = GRPOTrainer(model=model, reward_funcs=[reward.visual, reward.format], args=args, train_dataset=dataset,
                          processing_class=processor)
    torch.cuda.synchronize()
    t = time.perf_counter()
    trainer.train()
    torch.cuda.synchronize()
    step_s = time.perf_counter() - t
    reward.close()
    log = trainer.state.log_history[0] if trainer.state.log_history else {}
    return {"params_billion": round(params / 1e9, 2), "build_s": round(build_s, 1), "grpo_step_s": round(step_s, 1),
            "rollouts": 8, "max_completion_length": 256, "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1),
            "log": {k: log[k] for k in list(log)[:14]}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--out", default="/tmp/grpo-check")
    args = parser.parse_args()
    import torch
    import transformers

    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                      "transformers": transformers.__version__}), flush=True)
    for name, run in (("reward_throughput", lambda: reward_throughput(args.pairs)),
                      ("grpo_step", lambda: grpo_step(args.prompts, args.tokenizer, args.out))):
        try:
            print(json.dumps({name: run()}, default=str), flush=True)
        except Exception:  # noqa: BLE001 - report and go on to the next check
            traceback.print_exc()
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
