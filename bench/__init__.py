"""The benchmark suite of clientcard: `make bench` (or `python -m bench --help`).

See bench/__main__.py for what runs and docs/benchmarks.md for how to read the results.
"""
