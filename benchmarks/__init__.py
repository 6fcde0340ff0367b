"""Benchmarks: ``python -m benchmarks.mine_bench`` (``make bench``)."""
