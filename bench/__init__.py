"""The class-scale benchmark (``make bench``); see :mod:`bench.benchmark`."""
