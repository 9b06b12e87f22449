"""Benchmarks of the running engine beside pgbench TPC-B: `python -m bench`."""
