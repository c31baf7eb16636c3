"""Execution filter, quality checks and deduplication; ``filters.render`` turns code into pictures."""
