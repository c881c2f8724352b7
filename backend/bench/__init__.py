"""Benchmarks: `python -m backend bench NAME`; each prints key=value pairs on its last line."""
