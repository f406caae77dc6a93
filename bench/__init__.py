"""Benchmarks: `python -m bench.<area>` prints a table and writes bench/results/<area>.json."""
