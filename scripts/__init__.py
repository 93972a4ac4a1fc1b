"""Benchmarks, calibrations and dev-set checks, run from the repository root.

Each is a module: ``.venv/bin/python -m scripts.bench_query --help``. They measure
the product through its public API and save their figures with
``scripts._common.write_result`` (docs/benchmarks.md has what they found).
"""
