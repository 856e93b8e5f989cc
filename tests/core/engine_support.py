"""Shared fixtures for the engine tests (train / analyze / evaluate / demo / ddp).

Tiny synthetic projects (exact joints) in the real project store, and the
``rpan`` command line as a subprocess argv.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_tiny_project(folder: Path, actions=("jumping_jacks", "squat", "pullup"), per_class: int = 4,
                      n_frames: int = 16, size=(72, 96), seed: int = 0, test_per_class: int = 1,
                      pose_every: int = 1):
    """A project of synthetic clips (labels on every ``pose_every``-th frame), ``test_per_class`` test videos."""
    from rpan_core.project import Project
    from rpan_core.synth import render_video, write_mp4

    project = Project.create(folder, skeleton="pennaction", classes=list(actions))
    (Path(folder) / "videos").mkdir(exist_ok=True)
    truth = {}
    for k in range(per_class):
        for a in actions:
            sv = render_video(seed * 1000 + k * 17 + actions.index(a), a, n_frames=n_frames, size=size)
            p = write_mp4(Path(folder) / "videos" / f"{a}_{k}.mp4", sv.frames)
            split = "test" if k < test_per_class else "train"
            vid = project.add_video(str(p), action=a, split=split)
            rows = [(t, j, float(sv.xy[t, j, 0]), float(sv.xy[t, j, 1]), bool(sv.visible[t, j]), "imported")
                    for t in range(0, n_frames, pose_every) for j in range(sv.xy.shape[1])]
            project.set_labels(vid, rows)
            truth[vid] = sv
    return project, truth


def rpan_cli(*args: str) -> list[str]:
    """argv running ``rpan`` in a subprocess of this interpreter."""
    return [sys.executable, "-m", "rpan_core.cli", *args]
