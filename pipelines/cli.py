"""The ``vinci`` command line: thin argument parsing over the library's functions."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from filters.render import RenderError, RenderService, lang_from_path
from pipelines.outputs import OutputError, check_writable, is_folder, render_targets, write_bytes_atomic
from sources.files import code_of_file
from training.cli import add_commands as add_training_commands


def cmd_render(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    try:
        langs = [args.lang or lang_from_path(str(f)) for f in files]
        codes = [code_of_file(f, lang) for f, lang in zip(files, langs)]
    except RenderError as exc:
        print(f"error: {exc.kind}: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: unsupported: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        targets = render_targets(files, args.output)
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    workers = args.workers or 1
    with RenderService(workers=workers, timeout_s=args.timeout) as service:
        results = service.render_many(list(zip(langs, codes)))
    if len(files) == 1 and not is_folder(args.output):
        result = results[0]
        if not result.ok:
            print(f"error: {result.error_kind}: {result.first_line()}", file=sys.stderr)
            return 1
        return 0 if _saved(targets[0], result.png) else 1
    failed = 0
    for path, out, result in zip(files, targets, results):
        if result.ok and _saved(out, result.png):
            print(f"{path}: ok {result.width}x{result.height} {result.elapsed_s * 1000:.0f} ms -> {out}")
        else:
            failed += 1
            if not result.ok:
                print(f"{path}: {result.status_line()}")
    return 1 if failed else 0


def _saved(target: Path, png: bytes) -> bool:
    try:
        write_bytes_atomic(target, png)
        return True
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vinci", description="Build image-code corpora and train on them.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("render", help="render code files to PNG through the sandboxed warm pool")
    p.add_argument("files", nargs="+")
    p.add_argument("--lang", choices=["python", "html", "svg", "latex", "smiles"])
    p.add_argument("-o", "--output", help="OUT.png for one file, or OUTDIR/ for several")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per sample")
    p.add_argument("--workers", type=int, default=None, help="workers per language")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("harvest", help="write the raw samples of one source, unrendered")
    p.add_argument("source", help="synthetic.charts | hub:ID[:CONFIG][@SPLIT] | dir:PATH")
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="source option (repeatable)")
    p.add_argument("-o", "--output", required=True, help="OUT.parquet or OUT.jsonl")
    p.set_defaults(func=cmd_harvest)
    p = sub.add_parser("build", help="build a corpus from a manifest (resumable)")
    p.add_argument("manifest")
    p.add_argument("--out", default=None, help="build folder (default: out/<manifest name>)")
    p.add_argument("--workers", default=None, help="concurrent units and render workers per language (default: all cores)")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    p.add_argument("--limit", type=int, default=None, help="cap every source's quota (quick tries)")
    p.add_argument("--plan", action="store_true", help="validate and print the resolved plan, build nothing")
    p.add_argument("--restart", action="store_true", help="start over in a folder that holds another manifest's build")
    p.add_argument("--no-report", action="store_true", help="skip plots and contact sheets")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("inspect", help="contact sheet of a build's rows, or of its excluded samples")
    p.add_argument("dir")
    p.add_argument("--split", default="sft")
    p.add_argument("--excluded", action="store_true", help="draw the dropped samples (excluded/) instead of rows")
    p.add_argument("--reason", default=None, help="with --excluded: only this reason, stage or stage:reason")
    p.add_argument("-n", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("export", help="write a build's rows for other trainers (trl SFTTrainer, LLaVA/ShareGPT)")
    p.add_argument("dir")
    p.add_argument("--format", required=True, choices=["trl", "llava"])
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("push", help="upload a build's shards and card to the Hugging Face Hub")
    p.add_argument("dir")
    p.add_argument("--repo-id", required=True)
    p.add_argument("--private", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=cmd_push)
    add_training_commands(sub)
    return parser


def cmd_build(args: argparse.Namespace) -> int:
    from pipelines.build import Build, BuildError
    from pipelines.manifest import ManifestError, load_manifest
    from pipelines.plan import print_plan
    from pipelines.summary import print_summary
    from sources.base import SourceError

    from pipelines.preflight import empty_split_warnings, preflight, stats_rows

    try:
        manifest = load_manifest(args.manifest)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    checks = preflight(manifest, args.limit)
    if args.plan:
        print_plan(manifest, args.limit)
    for warning in checks.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in checks.errors:
        print(f"error: {args.manifest}: {error}", file=sys.stderr)
    if checks.errors:
        return 2
    if args.plan:
        return 0
    out = args.out or f"out/{manifest.name}"
    if args.executor == "ray" and args.address:
        import os

        os.environ["RAY_ADDRESS"] = args.address
    try:
        stats = Build(manifest, out, workers=args.workers, limit=args.limit, restart=args.restart).run(args.executor)
    except (BuildError, SourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.no_report:
        from pipelines.report import write_report

        write_report(out)
    print_summary(out, stats)
    for warning in empty_split_warnings(stats_rows(out), manifest):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from pipelines.report import EmptySheet, contact_sheet, excluded_sheet

    if not Path(args.dir).is_dir():
        print(f"error: {args.dir}: no such build folder", file=sys.stderr)
        return 1
    if args.reason and not args.excluded:
        print("error: --reason goes with --excluded", file=sys.stderr)
        return 2
    try:
        check_writable(Path(args.output))
        if args.excluded:
            n = excluded_sheet(args.dir, args.output, reason=args.reason, n=args.n, seed=args.seed)
            what = "excluded samples" + (f" with reason {args.reason}" if args.reason else "")
        else:
            n = contact_sheet(args.dir, args.output, split=args.split, n=args.n, seed=args.seed)
            what = f"rows of split {args.split}"
    except (EmptySheet, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({n} {what})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.export import ExportError, export

    try:
        counts = export(args.dir, args.format, args.output, force=args.force)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({args.format}): " + ", ".join(f"{split} {n:,} rows" for split, n in counts.items()))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from pipelines.push import PushError, push

    try:
        files = push(args.dir, args.repo_id, private=args.private, dry_run=args.dry_run)
    except PushError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "would upload" if args.dry_run else "uploaded"
    for f in files:
        print(f"{verb} {f}")
    return 0


def quiet_libraries() -> None:
    """Libraries that log their own copy of an error vinci reports (``datasets`` logs a bad file at ERROR
    on its own handler, in the middle of the progress bar) stay quiet unless ``-v`` is given."""
    os.environ.setdefault("DATASETS_VERBOSITY", "critical")
    for name in ("datasets", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def parse_options(pairs: list[str]) -> dict:
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --option {pair!r} is not KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


def cmd_harvest(args: argparse.Namespace) -> int:
    from itertools import islice

    from sources.base import SourceError, open_source
    from sources.harvest import write_samples
    from sources.options import check_options

    if not args.output.endswith((".parquet", ".jsonl")):
        print(f"error: -o {args.output}: write .parquet or .jsonl", file=sys.stderr)
        return 2
    options = parse_options(args.option)
    try:
        check_writable(Path(args.output))
        check_options(args.source, options)
        samples = islice(open_source(args.source, seed=args.seed, options=options), args.n)
        count = write_samples(samples, args.output)
    except (SourceError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {count} samples to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = {0: logging.ERROR, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_libraries()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
