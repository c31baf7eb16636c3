"""Executors decide *where* build units run; the stage functions decide *what* they do."""
