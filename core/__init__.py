"""The lowest layer: what every other package may import and what imports nothing of theirs.

``languages`` (the one registry of code languages), ``fences`` (code inside Markdown), ``records``
(the row schema), ``stats`` and ``exclusions`` (counted drops and their records), ``errors`` and
``atomic`` (all-or-nothing file writes).
"""
