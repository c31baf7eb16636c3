"""The corpus commands of ``vinci``: ``build``, ``inspect``, ``export``, ``push``.

A user error is raised as a ``core.errors.VinciError``; ``pipelines.cli`` prints it, once."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.arguments import positive_int, workers
from core.errors import UsageError, VinciError
from core.outputs import OutputError, check_writable


def add_commands(sub) -> None:
    p = sub.add_parser("build", help="build a corpus from a manifest (resumable)")
    p.add_argument("manifest")
    p.add_argument("--out", default=None, help="build folder (default: out/<manifest name>)")
    p.add_argument("--workers", type=workers, default=None, help="units in flight (default: all cores)")
    p.add_argument("--render-workers", type=workers, default=None,
                   help="render workers per language (default: the manifest's render.workers; auto: all cores)")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    p.add_argument("--limit", type=positive_int, default=None, help="cap every source's quota (quick tries; at least 1)")
    p.add_argument("--plan", action="store_true", help="validate and print the resolved plan, build nothing")
    p.add_argument("--restart", action="store_true", help="start over in a folder that holds another manifest's build")
    p.add_argument("--no-report", action="store_true", help="skip plots and contact sheets")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("inspect", help="contact sheet of a build's rows, or of its excluded samples")
    p.add_argument("dir")
    p.add_argument("--split", default="sft")
    p.add_argument("--excluded", action="store_true", help="draw the dropped samples (excluded/) instead of rows")
    p.add_argument("--reason", default=None, help="with --excluded: only this reason, stage or stage:reason")
    p.add_argument("-n", type=positive_int, default=24)
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


def cmd_build(args: argparse.Namespace) -> int:
    from pipelines.manifest import load_manifest
    from pipelines.plan import print_plan
    from pipelines.preflight import preflight

    if args.address and args.executor != "ray":
        raise UsageError(f"--address {args.address} goes with --executor ray (the local executor runs on this machine)")
    manifest = load_manifest(args.manifest)
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
    out = Path(args.out or f"out/{manifest.name}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".vinci-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write the build folder: {exc.strerror}") from None
    if args.executor == "ray" and args.address:
        os.environ["RAY_ADDRESS"] = args.address
    return run_build(args, manifest, out, [f"warning: {w}" for w in checks.warnings])


def run_build(args: argparse.Namespace, manifest, out: Path, earlier: list[str]) -> int:
    """The build proper, under the folder's lock, with the console copied to ``out/build.log``."""
    from core.errors import BuildError
    from core.interrupts import exit_interrupted
    from pipelines.build import Build
    from pipelines.buildlog import build_log
    from pipelines.preflight import empty_split_warnings, stats_rows
    from pipelines.summary import empty_source_warnings, print_summary

    resume = f"finished units are kept in {out}; run the same command again to resume"
    build = Build(manifest, out, workers=args.workers, limit=args.limit, restart=args.restart,
                  render_workers=args.render_workers)
    try:
        with build_log(out, "vinci " + " ".join(sys.argv[1:]), earlier):
            try:
                stats = build.run(args.executor)
                if not args.no_report:
                    from pipelines.report import write_report

                    write_report(out)
            except OSError as exc:
                raise BuildError(f"cannot write {exc.filename or out}: {exc.strerror}; {resume}") from None
            except KeyboardInterrupt:
                exit_interrupted(resume)
            print_summary(out, stats, manifest, args.limit)
            for warning in [*empty_source_warnings(manifest, stats), *empty_split_warnings(stats_rows(out), manifest)]:
                print(f"warning: {warning}", file=sys.stderr)
    finally:
        build.close()
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from pipelines.report import contact_sheet, excluded_sheet

    if not Path(args.dir).is_dir():
        raise VinciError(f"{args.dir}: no such build folder")
    if args.reason and not args.excluded:
        raise UsageError("--reason goes with --excluded")
    check_writable(Path(args.output))
    if args.excluded:
        n = excluded_sheet(args.dir, args.output, reason=args.reason, n=args.n, seed=args.seed)
        what = "excluded samples" + (f" with reason {args.reason}" if args.reason else "")
    else:
        n = contact_sheet(args.dir, args.output, split=args.split, n=args.n, seed=args.seed)
        what = f"rows of split {args.split}"
    print(f"wrote {args.output} ({n} {what})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.export import export

    counts = export(args.dir, args.format, args.output, force=args.force)
    print(f"wrote {args.output} ({args.format}): " + ", ".join(f"{split} {n:,} rows" for split, n in counts.items()))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from pipelines.push import push

    files = push(args.dir, args.repo_id, private=args.private, dry_run=args.dry_run)
    verb = "would upload" if args.dry_run else "uploaded"
    for f in files:
        print(f"{verb} {f}")
    return 0
