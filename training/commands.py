"""The training commands of ``vinci``: ``train``, ``reward``, ``eval``, ``select``.

``pipelines.cli`` adds them with one call to ``add_commands``. A user error is raised as a
``core.errors.VinciError`` (``ConfigError``, ``DataError``, ...), which ``pipelines.cli`` prints as one line
``error: ...`` with exit status 1; heavy imports (torch, transformers) wait until a command runs.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from core.arguments import at_least, positive_int
from core.languages import LANGS

from .encoders import DEFAULT_ENCODER, TINY_DINOV2


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train a vision-language model on a corpus (SFT or ViRL)")
    p.add_argument("stage", choices=["sft", "virl"])
    p.add_argument("--data", required=True, help="build folder or Hub dataset repo id")
    p.add_argument("--model", default=None, help="Hub id or folder (overrides the config)")
    p.add_argument("--config", default=None,
                   help="a YAML file, or a packaged config by name (tiny-sft, tiny-virl, qwen2.5-vl-7b-sft, ...)")
    p.add_argument("--output", default=None, help="output folder (overrides the config)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a config field (repeatable): a vinci field (max_steps=2, lora.r=8) or any field of "
                        "trl's SFTConfig/GRPOConfig (weight_decay=0.1)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--resume", action="store_true", help="resume from the last checkpoint in the output folder")
    what.add_argument("--overwrite", action="store_true", help="train from the start into an output folder that "
                                                               "holds an earlier run (its checkpoints are removed)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reward", help="score code against a target image with the ViRL reward")
    p.add_argument("--lang", required=True, choices=LANGS)
    p.add_argument("--code", required=True, help="file with the code (or a completion with a fenced block)")
    p.add_argument("--image", required=True, help="target PNG")
    add_encoder_options(p)
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=cmd_reward)

    p = sub.add_parser("eval", help="generate, render and score on a held-out split")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default=None, help="default: the first of test, virl, sft that the data has")
    p.add_argument("--model", default=None, help="Hub id or folder to generate with (or give --outputs with --benchmark)")
    p.add_argument("--benchmark", default=None, help="score as a paper benchmark scores: chartmimic, chemdraw, design2code, image2latex, unisvg "
                   "(--data: the benchmark's own files)")
    p.add_argument("--outputs", default=None, metavar="FILE.jsonl",
                   help='with --benchmark: answers produced elsewhere, one {"id": ..., "completion": ...} per line')
    p.add_argument("-n", type=positive_int, default=None, help="rows, drawn evenly across languages (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="runs/eval")
    add_encoder_options(p)
    p.add_argument("--max-new-tokens", type=int, default=None,
                   help="default: a quarter more than the longest reference answer, at most 1024")
    p.add_argument("--keep-failures", default=None, metavar="OUT",
                   help="write the model's flawed generations as optimize rows (a build-compatible folder)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("select", help="curate ViRL prompts the SFT model neither solves nor finds hopeless")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="virl")
    p.add_argument("--model", required=True, help="the SFT model (Hub id or folder)")
    p.add_argument("-k", type=at_least(2), default=4, help="samples per prompt (at least 2: a prompt is kept when its samples disagree)")
    p.add_argument("--band", default="0.2:0.8", help="keep prompts whose mean reward lies in LO:HI")
    p.add_argument("--min-std", type=float, default=1e-6, help="keep prompts whose samples' rewards spread more than this")
    p.add_argument("--per-lang", type=positive_int, default=None, help="prompts per language (default: the smallest language's count)")
    p.add_argument("--limit", type=positive_int, default=None, help="score at most this many candidates (drawn evenly across languages)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    add_encoder_options(p)
    p.add_argument("-o", "--output", required=True, help="output build folder")
    p.set_defaults(func=cmd_select)


def add_encoder_options(p) -> None:
    p.add_argument("--encoder", default=DEFAULT_ENCODER,
                   help=f"Hub id, folder saved with save_pretrained, {TINY_DINOV2} (random, built locally) or pixel "
                        "(no weights: multi-scale SSIM x colour per crop)")
    p.add_argument("--cls", choices=["release", "pooler"], default="release",
                   help="CLS feature before DINOv2's final layernorm (the release's) or after it")


def reward_config(args: argparse.Namespace, workers: int = 1):
    from core.validation import validate

    from .config import ConfigError
    from .encoders import resolve_encoder
    from .rewards import RewardConfig

    options = {"encoder": resolve_encoder(args.encoder), "cls": args.cls, "timeout_s": getattr(args, "timeout", 10.0), "workers": workers}
    return validate(RewardConfig, options, "options", ConfigError)


def cmd_train(args: argparse.Namespace) -> int:
    from core.interrupts import exit_interrupted

    from .config import ConfigError, TrainConfig, config_path
    from .data import check_data
    from .models import check_model
    from .resume import clear_checkpoints, earlier_run, run_state

    if args.config:
        config_path(args.config)  # a config that is not there fails first
    check_data(args.data)  # then a corpus that is not there, at once: checking trl's fields imports trl (seconds)
    cfg = TrainConfig.load(args.config, stage=args.stage, sets=args.set, model=args.model, output_dir=args.output)
    check_model(cfg.model)
    earlier = earlier_run(cfg.output_dir)
    if earlier and not (args.resume or args.overwrite):
        raise ConfigError(f"{cfg.output_dir} holds an earlier run ({earlier}); pass --resume to go on from it, "
                          "--overwrite to train from the start there, or choose another --output")
    if args.overwrite:
        clear_checkpoints(cfg.output_dir)
    if args.stage == "sft":
        from .sft import train_sft as run
    else:
        from .virl import train_virl as run
    try:
        print(run(args.data, cfg, resume=args.resume).message)
    except KeyboardInterrupt:
        last = run_state(cfg.output_dir).checkpoint
        exit_interrupted(f"checkpoints are kept in {cfg.output_dir} ({last.name if last else 'none yet'}); run the same "
                         "command with --resume to go on from the last one")
    return 0


def cmd_reward(args: argparse.Namespace) -> int:
    from PIL import Image, UnidentifiedImageError

    from .data import DataError

    try:
        text = Path(args.code).read_text(encoding="utf-8", errors="replace")
        target = Image.open(args.image).convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"cannot read {getattr(exc, 'filename', None) or args.image}: {getattr(exc, 'strerror', None) or exc}") from None
    from .rewards import VisualCodeReward

    completion = text if "```" in text else f"```{args.lang}\n{text}\n```"
    reward = VisualCodeReward(reward_config(args))
    try:
        reward.encoder  # noqa: B018 - a missing encoder fails before the renderers start
        parts = reward.score([completion], [args.lang], [target])[0]
    finally:
        reward.close()
    print(json.dumps({k: round(v, 6) for k, v in parts.items()}))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .data import check_data
    from .eval import EvalError, evaluate, pick_split, print_table

    if args.benchmark or args.outputs:
        return cmd_eval_benchmark(args)
    if args.model is None:
        raise EvalError("give --model (or --benchmark NAME with --outputs FILE.jsonl)")
    from .models import check_model

    check_data(args.data)
    split = pick_split(args.data, args.split)  # a wrong split fails before any model is built, loaded or saved
    check_model(args.model)
    table = evaluate(args.data, split, args.model, args.n, args.output, args.max_new_tokens,
                     reward_config(args, workers=2), seed=args.seed, keep_failures=args.keep_failures)
    print_table(table, split, args.data)
    print(f"metrics, outputs and contact sheet in {args.output}")
    if args.keep_failures:
        stats = json.loads((Path(args.keep_failures) / "stats.json").read_text())
        print(f"refine rows: {stats['rows'].get('sft', 0)} written to {args.keep_failures} ({stats['outcomes']})")
    return 0


def cmd_eval_benchmark(args: argparse.Namespace) -> int:
    from .benchmarks.base import BenchmarkError
    from .benchmarks.runner import print_table, run_benchmark

    if not args.benchmark:
        raise BenchmarkError("--outputs scores answers to a benchmark: give --benchmark NAME")
    if (args.model is None) == (args.outputs is None):
        raise BenchmarkError("give exactly one of --model ID and --outputs FILE.jsonl")
    output = args.output if args.output != "runs/eval" else f"runs/eval-{args.benchmark}"
    report = run_benchmark(args.benchmark, args.data, output, outputs=args.outputs, model=args.model, n=args.n,
                           max_new_tokens=args.max_new_tokens)
    print_table(args.benchmark, report)
    print(f"scores.json, samples.jsonl, table.md and worst.png in {output}")
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    from .data import DataError, check_data
    from .selection import choose, parse_band, score_candidates, write_selection

    try:
        band = parse_band(args.band)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    from .models import check_model

    check_data(args.data)
    check_model(args.model)
    from .rewards import VisualCodeReward

    reward = VisualCodeReward(reward_config(args, workers=2))
    try:
        reward.encoder  # noqa: B018 - a missing encoder fails before minutes of sampling
        with tempfile.TemporaryDirectory() as workdir:
            candidates = score_candidates(args.data, args.split, args.model, args.k, workdir, reward,
                                          args.temperature, args.max_new_tokens, args.limit, args.seed)
    finally:
        reward.close()
    selection = choose(candidates, band, args.min_std, args.per_lang, args.seed)
    write_selection(selection, args.output, {"made_by": "vinci select", "data": args.data, "split": args.split,
                                              "model": args.model, "k": args.k, "band": list(band), "min_std": args.min_std,
                                              "temperature": args.temperature, "seed": args.seed})
    print(f"{'lang':<8} {'candidates':>10} {'in band':>8} {'kept':>5}")
    for lang, r in selection.report.items():
        print(f"{lang:<8} {r['candidates']:>10} {r['in_band']:>8} {r['kept']:>5}")
    print(f"wrote {len(selection.kept)} prompts to {args.output}")
    return 0
