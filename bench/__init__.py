"""Benchmarks: numbers go in tables, not in timed tests. Run with ``scripts/bench``."""
