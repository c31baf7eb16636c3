"""``vinci build --plan``: the resolved plan of a manifest, without building anything."""
from __future__ import annotations

import math

from .manifest import Manifest
from .preflight import held_out
from .unit import cut_units


def print_plan(manifest: Manifest, limit: int | None = None) -> None:
    units = cut_units(manifest, limit)
    total = sum(e.quota(limit) for e in manifest.sources)
    print(f"manifest {manifest.name}  (fingerprint {manifest.fingerprint()}, seed {manifest.seed})")
    print(f"{'source':<48} {'quota':>10} {'units':>7}  options")
    for si, entry in enumerate(manifest.sources):
        n = entry.quota(limit)
        print(f"{entry.source:<48} {n:>10,} {sum(u.source_index == si for u in units):>7}  {entry.options or ''}")
    print(f"{'total':<48} {total:>10,} {len(units):>7}")
    print_source_details(manifest)
    s = manifest.splits
    virl, test = held_out(manifest, limit, total)
    held = virl + test
    sft = total - held if s.sft == "rest" else s.sft
    capped = f" (shrunk with --limit from virl {s.virl:,}, test {s.test:,})" if (virl, test) != (s.virl, s.test) else ""
    print(f"splits: sft {'rest' if s.sft == 'rest' else s.sft} (≤ {max(sft, 0):,} before filtering), virl {virl:,}, "
          f"test {test:,}{capped}")
    optimize = int(max(sft, 0) * manifest.perturb.per_row)
    print(f"perturb: up to {manifest.perturb.per_row} optimize rows per clean row (≤ {optimize:,}), error share {manifest.perturb.error_share}")
    shards = math.ceil(max(sft, 0) * (1 + manifest.perturb.per_row) / manifest.shard_rows)
    print(f"expected rows ≤ {max(sft, 0) + optimize + held:,} in about {shards} sft shard(s) of {manifest.shard_rows:,} rows")
    print(f"render timeout {manifest.render.timeout_s} s, dedup radius {manifest.dedup.phash_radius}, quality {manifest.quality.model_dump()}")


def source_details(source: str, options: dict) -> str:
    """What a source will read, as its kind describes it (a hub source: dataset, config, split, layout, licence)."""
    from core.errors import SourceError
    from sources.registry import resolve_source

    try:
        return resolve_source(source, options).details()
    except SourceError as exc:
        return f"{source}: error: {exc}"


def print_source_details(manifest: Manifest) -> None:
    print("sources as read:")
    for entry in manifest.sources:
        print(f"  {source_details(entry.source, entry.options)}")
    if manifest.licenses is not None:
        allow, deny = manifest.licenses.allow, manifest.licenses.deny
        print(f"licences: {'only ' + ', '.join(allow) if allow is not None else 'all but ' + ', '.join(deny)}")
    for target, options in manifest.dedup.targets():
        print(f"held out (dedup.against): {source_details(target, options) if ':' in target else target + ' (folder)'}")
