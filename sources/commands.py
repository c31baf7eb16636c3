"""The harvest command of ``vinci``: one source's raw samples, unrendered, to look at before a build."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.arguments import positive_int
from core.errors import UsageError, VinciError
from core.outputs import OutputError, check_writable


def add_commands(sub) -> None:
    p = sub.add_parser("harvest", help="write the raw samples of one source, unrendered")
    p.add_argument("source", help="synthetic.charts | hub:ID[:CONFIG][@SPLIT] | dir:PATH")
    p.add_argument("-n", type=positive_int, default=100, help="samples to write (at least 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="source option (repeatable)")
    p.add_argument("-o", "--output", required=True, help="OUT.parquet or OUT.jsonl")
    p.set_defaults(func=cmd_harvest)


def parse_options(pairs: list[str]) -> dict:
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise VinciError(f"--option {pair!r} is not KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


def cmd_harvest(args: argparse.Namespace) -> int:
    from itertools import islice

    from sources.harvest import write_samples
    from sources.registry import resolve_source

    if not args.output.endswith((".parquet", ".jsonl")):
        raise UsageError(f"-o {args.output}: write .parquet or .jsonl")
    options = parse_options(args.option)
    check_writable(Path(args.output))
    source = resolve_source(args.source, options)
    samples = islice(source.open(seed=args.seed), args.n)
    try:
        count = write_samples(samples, args.output)
    except OSError as exc:
        raise OutputError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"wrote {count} samples to {args.output}")
    return 0
