"""Sub-commands beyond ``render``; each entry adds one parser to the ``vinci`` command line."""
from __future__ import annotations

REGISTER: list = []
