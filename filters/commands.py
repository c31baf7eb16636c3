"""The render command of ``vinci``: code files to PNG through the sandboxed warm pool."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.arguments import positive_int
from core.errors import VinciError
from core.languages import LANGS
from core.outputs import OutputError, is_folder, render_targets, write_bytes_atomic
from sources.files import code_of_file

from .render import RenderError, RenderService, lang_from_path


def add_commands(sub) -> None:
    p = sub.add_parser("render", help="render code files to PNG through the sandboxed warm pool")
    p.add_argument("files", nargs="+")
    p.add_argument("--lang", choices=LANGS)
    p.add_argument("-o", "--output", help="OUT.png for one file, or OUTDIR/ for several")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per sample")
    p.add_argument("--workers", type=positive_int, default=None, help="workers per language")
    p.add_argument("--render", action="append", default=[], metavar="NAME=VALUE",
                   help="a render convention, as a dataset would set it (repeatable): viewport_width=1280, savefig=figure …")
    p.set_defaults(func=cmd_render)


def parse_conventions(pairs: list[str]) -> dict | None:
    import yaml

    conventions = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise VinciError(f"--render {pair!r} is not NAME=VALUE")
        conventions[name] = yaml.safe_load(value)
    return conventions or None


def cmd_render(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    try:
        langs = [args.lang or lang_from_path(str(f)) for f in files]
        codes = [code_of_file(f, lang) for f, lang in zip(files, langs)]
    except RenderError as exc:
        raise VinciError(f"{exc.kind}: {exc.message}") from None
    except OSError as exc:
        raise VinciError(f"unsupported: cannot read {exc.filename}: {exc.strerror}") from None
    targets = render_targets(files, args.output)
    conventions = parse_conventions(args.render)
    workers = args.workers or 1
    with RenderService(workers=workers, timeout_s=args.timeout) as service:
        results = service.render_many([(lang, code, None, conventions) for lang, code in zip(langs, codes)])
    if len(files) == 1 and not is_folder(args.output):
        result = results[0]
        if not result.ok:
            raise VinciError(f"{result.error_kind}: {result.first_line()}")
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
