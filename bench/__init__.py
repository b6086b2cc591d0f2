"""Benchmarks: not tests. Each module runs with ``python -m bench.<name>``."""
