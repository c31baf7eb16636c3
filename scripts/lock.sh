#!/usr/bin/env bash
# Refresh requirements.lock from pyproject.toml (exact versions and sha256 hashes of every package, the
# extras and pip/setuptools included), reinstall .venv from it and run the suite. `make lock` calls this.
# torch is pinned to the CPU wheel (2.13.0+cpu); pip finds it where the machine's pip configuration or
# PIP_FIND_LINKS / PIP_EXTRA_INDEX_URL point (e.g. the PyTorch CPU index).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install -q pip-tools
"$tools/bin/pip-compile" -q --upgrade --extra train --extra test --extra ray --generate-hashes --allow-unsafe \
  --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
rm -f .venv/.installed
make test
