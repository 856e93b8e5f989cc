"""Index-coded clips and analyses with known answers, for the main-window tests.

* ``write_coded_clip``: a frame folder whose frame i has its index written into
  pixel (0, 0) (i % 256) and (0, 1) (i // 256), and a bright square (the "person")
  centred at a known position that moves with i, so a test can tell exactly which
  frame is on screen and where the heat map and skeleton must be.
* ``make_analysis``: an Analysis-shaped object (the attributes rpan_core.analyze
  promises) whose attention for joint j on frame t peaks at the grid cell under the
  person, whose xy is the person's centre plus a per-joint offset, and whose
  confidence is low on a few chosen frames.

The projects they go into are real ones (tests/conftest.py: ``Project.create`` in
``tmp_path``).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from rpan_core.skeleton import PENNACTION

W, H = 96, 64
GRID = (4, 6)  # K1 x K2: cells of 16 x 16 px
CLASSES = ["jump", "squat", "wave"]
J = PENNACTION.num_joints
LOW_CONF_FRAMES = (5, 13)


def person_center(t: int) -> tuple[float, float]:
    """Centre of the person's square on frame t: always in the middle of a grid cell."""
    col = 1 + (t // 4) % 4
    return (col * 16 + 8.0, 1 * 16 + 8.0)  # x, y in pixels


def coded_frame(t: int) -> np.ndarray:
    img = np.full((H, W, 3), 40, np.uint8)
    x, y = person_center(t)
    img[int(y) - 6:int(y) + 6, int(x) - 6:int(x) + 6] = (230, 200, 60)
    img[0, 0] = t % 256
    img[0, 1] = t // 256
    return img


def frame_index_of(img: np.ndarray) -> int:
    return int(img[0, 0, 0]) + 256 * int(img[0, 1, 0])


def write_coded_clip(folder: Path, n: int) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for t in range(n):
        cv2.imwrite(str(folder / f"{t:05d}.png"), cv2.cvtColor(coded_frame(t), cv2.COLOR_RGB2BGR))
    return folder


#: the joint the fake model puts on its dummy cell (occluded / out of the frame)
OFF_FRAME_JOINT = 6


def make_analysis(n: int, hidden: int = 32) -> SimpleNamespace:
    k1, k2 = GRID
    att = np.full((n, J, k1, k2), 0.01, np.float32)
    xy = np.zeros((n, J, 2), np.float32)
    conf = np.full((n, J), 0.8, np.float32)
    for t in range(n):
        x, y = person_center(t)
        r, c = int(y // 16), int(x // 16)
        att[t, :, r, c] = 1.0
        xy[t] = np.stack([np.full(J, x) + np.arange(J) * 0.5 - 3, np.full(J, y) + np.arange(J) * 0.25 - 1.5], 1)
    att /= att.sum(axis=(2, 3), keepdims=True)
    dummy = np.zeros((n, J), np.float16)
    dummy[:, OFF_FRAME_JOINT] = 0.9  # the model says this joint is not in the frame
    for t in LOW_CONF_FRAMES:
        if t < n:
            conf[t] = 0.1
    rng = np.random.default_rng(0)
    hid = rng.normal(0, 0.1, (n, hidden)).astype(np.float32)
    hid[:, 3] += np.linspace(-1, 2, n)  # the most active unit, large positive at the end
    hid[:, 7] -= np.linspace(0, 1.5, n)  # active, negative at the end
    probs = np.zeros((n, len(CLASSES)), np.float32)
    probs[:, 0] = np.linspace(0.34, 0.9, n)
    probs[:, 1] = (1 - probs[:, 0]) * 0.6
    probs[:, 2] = 1 - probs[:, 0] - probs[:, 1]
    return SimpleNamespace(attention=att.astype(np.float16), dummy=dummy, xy=xy, xy_argmax=xy.copy(), conf=conf,
                           hidden=hid,
                           probs=probs, video_pred=0, video_probs=probs[-1], classes=list(CLASSES),
                           skeleton="pennaction", frame_size=(H, W), grid=GRID, stream="rgb")
