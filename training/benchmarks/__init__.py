"""The benchmarks VinciCoder reports, scored as their own evaluators score them (``vinci eval --benchmark``)."""
