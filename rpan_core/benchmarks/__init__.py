"""Benchmarks run by ``rpan bench`` / ``make bench``: each module's ``run(quick) -> dict`` reports ratios."""
