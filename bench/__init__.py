"""Benchmark suite of Deploy Ledger: run ``.venv/bin/python bench/run.py`` (see README.md)."""
