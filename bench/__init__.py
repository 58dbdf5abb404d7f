"""Benchmarks (not tests): each prints a table against a baseline measured in the same run.

Run with ``python -m bench [--backend sqlite|postgres|all] [--quick]``; see ``bench/README.md``.
"""
