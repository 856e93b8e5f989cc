"""The person-following crop stays on the person when the model parks joints on its dummy cell."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rpan_core import crops
from rpan_core.crops import Follower, FrameResult, person_box

J = 13
HW = (1920, 1080)


def _result(xy: np.ndarray, dummy: np.ndarray, conf: float = 0.5) -> FrameResult:
    z = np.zeros(1)
    return FrameResult(np.zeros((J, 4, 3)), dummy, xy, np.full(J, conf), xy, np.full(J, conf), z, z, np.eye(2, 3))


def test_person_box_ignores_parked_joints_and_stays_in_the_frame():
    xy = np.tile([[500.0, 800.0]], (J, 1)) + np.arange(J)[:, None] * 20
    dummy = np.zeros(J)
    xy[0] = [-5000.0, -9000.0]  # a joint on the dummy cell decodes anywhere
    dummy[0] = 0.9
    xy[1] = [5000.0, 900.0]  # a placed joint outside the frame is clipped, not followed
    box = person_box(_result(xy, dummy), HW)
    assert box is not None
    assert box[0] >= 500 and box[1] >= 800 and box[2] == HW[1] and box[3] <= HW[0]
    dummy[:] = 0.9  # nothing placed: the person is lost
    assert person_box(_result(xy, dummy), HW) is None


def test_follower_box_does_not_run_away(monkeypatch):
    """A model that parks two joints on the dummy cell at the crop's corner: the old follower's box
    grew 1.5x a frame (1e7 px after 25 frames on a real clip); now it stays on the body."""
    body = np.stack([np.full(J, 540.0), np.linspace(600, 1400, J)], 1)

    def fake_run(self, frame, win):  # noqa: ANN001
        xy = body + np.random.default_rng(0).normal(0, 5, body.shape)
        dummy = np.zeros(J)
        x0, y0 = win.to_frame(np.array([[0.0, 0.0]]))[0]  # the crop's top-left corner, in frame pixels
        xy[:2] = [x0, y0]
        dummy[:2] = 0.95
        return _result(xy, dummy), None

    monkeypatch.setattr(Follower, "_run", fake_run)
    model = SimpleNamespace(cfg=SimpleNamespace(input_size=(256, 192), framing="person"))
    f = Follower(model)
    frame = np.zeros(HW + (3,), np.uint8)
    for _ in range(30):
        f.step(frame)
    assert f.box is not None and not f._lost
    assert f.box[0] >= 0 and f.box[1] >= 0 and f.box[2] <= HW[1] and f.box[3] <= HW[0]
    assert f.box[3] - f.box[1] < 1.2 * (1400 - 600)


def test_a_box_that_doubles_in_one_frame_is_not_believed():
    old = np.array([100.0, 100.0, 200.0, 300.0])
    assert crops._plausible(old, old * 1.1)
    assert not crops._plausible(old, np.array([0.0, 0.0, 900.0, 900.0]))
    assert not crops._plausible(old, np.array([100.0, 100.0, 120.0, 130.0]))
