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
from pathlib import Path
from typing import Any, Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    yield
    gc.collect()


def three_person_project(folder: Path, n_frames: int, size: tuple[int, int]) -> tuple[Any, int]:
    """The studio's several-persons tests' scene: a one-video synthetic project of three persons
    (``rpan_core.synth``, seed 5), and that video's id."""
    from rpan_core.synth import make_project

    project = make_project(folder, 1, seed=5, n_frames=n_frames, size=size, progress=False, workers=1, persons=3)
    return project, project.videos()[0].id
