"""Source kinds: each module registers its kinds with ``sources.registry.source_kind``; the registry
imports every module here, so a new kind of source is one file in this folder."""
