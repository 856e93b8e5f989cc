"""Benchmarks run by ``rpan bench`` / ``make bench``: each module's ``run(quick) -> dict`` reports ratios."""
from __future__ import annotations

import time
from typing import Callable


def best_time(fn: Callable[[], object], repeat: int, warmup: bool = False) -> float:
    """The fastest of ``repeat`` calls in seconds (the least disturbed by a shared machine)."""
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
