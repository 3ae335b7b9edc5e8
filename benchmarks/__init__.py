"""Sellerpay's benchmarks: one module per benchmark, run by `sellerpay bench NAME`.

The rules every benchmark follows (a reference measured in the same run, a table, a JSON last
line, its own database, a correctness check at the end) are in `BENCHMARKS.md`; the results
are kept in `docs/benchmarks.md`.
"""
