"""Studio test hygiene: collect garbage between tests, at a safe point.

Why: a test's widgets (pyqtgraph plots inside dialogs and windows) can end up in
reference cycles that outlive the test. Python's cyclic collector then runs whenever
allocation counts say so, which can be in the middle of a later test's paint event;
deleting a plot's C++ items mid-paint aborts the process ("pure virtual method
called"). Which test it hits depends on the collection order, so it looked random.
Collecting after each test's widgets are closed (this fixture's teardown runs after
pytest-qt's) makes it deterministic.
"""
from __future__ import annotations

import gc
from typing import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    yield
    gc.collect()
