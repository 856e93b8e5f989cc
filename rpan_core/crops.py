"""Running a model frame by frame on aspect-preserving windows, following the person.

Why: a model trained on person crops (the ``labeling`` preset, ``framing="person"``)
must see people at the scale it learned, whatever the frame's size and shape. The
first frame (or a frame after the person is lost) goes through a whole-frame
letterbox pass; the pose found there, or a box the user gives, places a crop; each
later frame is cropped around the previous frame's pose (people move little between
frames). Models with ``framing="letterbox"`` use the whole-frame window every frame.
Every point is mapped back to frame pixels through the window that produced the
input (:mod:`rpan_core.geometry`), so overlays land on the person.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from rpan_core.geometry import Window, pose_box

#: crop margin around the person (fraction of the box side): training and analysis must agree
MARGIN = 0.25
#: below this mean peak confidence the person counts as lost and the next frame is searched whole
LOST_CONF = 0.05
#: a joint places the box only when less than this share of its attention sits on the dummy cell
DUMMY_MAX = 0.5
#: fewer placed joints than this and the person counts as lost
MIN_BOX_JOINTS = 4
#: a box whose side changes by more than this factor from one frame to the next is not believed
MAX_SIDE_CHANGE = 2.0


@dataclass
class FrameResult:
    """One frame's outputs, with the window it was read through."""

    attention: np.ndarray  # J x K1 x K2 over the window's input
    dummy: np.ndarray  # J
    xy: np.ndarray  # J x 2 frame pixels (quadratic sub-cell decode)
    conf: np.ndarray  # J
    xy_argmax: np.ndarray
    conf_argmax: np.ndarray
    hidden: np.ndarray
    probs: np.ndarray
    window: np.ndarray  # 2 x 3 frame -> input affine


@dataclass
class Follower:
    """Carries the LSTM state and the person's box from one frame to the next."""

    model: Any
    device: Any = "cpu"
    box: np.ndarray | None = None  # a user's box for the first frame (x0, y0, x1, y1), optional
    state: Any = None
    _lost: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        self._lost = self.box is None

    def _run(self, frame: np.ndarray, win: Window) -> tuple[Any, Any]:
        from rpan_core.targets import decode_argmax, decode_quadratic

        m = self.model
        img = win.warp(frame)
        x = m.preprocess(img[None, None]).to(self.device)
        with torch.no_grad():
            state = self.state if self.state is not None else m.init_state(1)
            out, new_state = m.step(x[:, 0], state)
        att = out.attention[0].float().cpu()
        xy_in, conf = decode_quadratic(att, tuple(m.cfg.input_size))
        xya_in, confa = decode_argmax(att, tuple(m.cfg.input_size))
        res = FrameResult(att.numpy(), out.dummy[0].float().cpu().numpy(), win.to_frame(xy_in.numpy()),
                          conf.numpy(), win.to_frame(xya_in.numpy()), confa.numpy(),
                          out.hidden[0].float().cpu().numpy(), torch.softmax(out.logits[0].float(), -1).cpu().numpy(),
                          win.matrix.copy())
        return res, new_state

    def step(self, frame: np.ndarray) -> FrameResult:
        """The outputs for the next frame of the video."""
        m = self.model
        size = tuple(m.cfg.input_size)
        hw = frame.shape[:2]
        if m.cfg.framing != "person":
            res, self.state = self._run(frame, Window.letterbox(hw, size))
            return res
        if self._lost or self.box is None:  # search the whole frame, then look again closer
            res, _ = self._run(frame, Window.letterbox(hw, size))
            box = person_box(res, hw) if res.conf.mean() >= LOST_CONF else None
            self.box = box if box is not None else np.array([0, 0, hw[1], hw[0]], float)
        res, self.state = self._run(frame, Window.around_box(self.box, size, MARGIN))
        nb = next_box(self.box, res.xy, res.dummy, res.conf, hw)
        self._lost = nb is None
        if not self._lost:
            self.box = nb
        return res


def next_box(old: np.ndarray | None, xy: np.ndarray, dummy: np.ndarray, conf: np.ndarray,
             frame_hw: tuple[int, int]) -> np.ndarray | None:
    """The person's box for the next frame from this frame's reading (``xy`` frame pixels), or None
    when the person counts as lost: a weak reading (mean confidence below :data:`LOST_CONF`), too few
    placed joints, or a box that doubled or halved since ``old``.

    The one rule for following a person (this module's :class:`Follower` and the per-person
    analysis, :mod:`rpan_core.person_analysis`), so both crop where the other would.
    """
    if float(np.mean(conf)) < LOST_CONF:
        return None
    nb = placed_box(xy, dummy, frame_hw)
    if nb is None or (old is not None and not _plausible(old, nb)):
        return None
    return nb


def person_box(res: FrameResult, frame_hw: tuple[int, int]) -> np.ndarray | None:
    """The box of the joints the model placed in ``res`` (see :func:`placed_box`)."""
    return placed_box(res.xy, res.dummy, frame_hw)


def placed_box(xy: np.ndarray, dummy: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray | None:
    """The box of the joints the model placed (not on its dummy cell), clipped to the frame.

    Why not every joint: a joint the model parks on the dummy cell has no position, and
    its decoded point can sit anywhere in the crop; a box stretched to it grows frame
    after frame until the crop no longer holds the person (seen on a real clip: the box
    grew 1.5x a frame and the poses ran off to 1e7 px).
    """
    xy = np.asarray(xy, dtype=np.float64)
    placed = (np.asarray(dummy) < DUMMY_MAX) & np.isfinite(xy).all(1)
    box = pose_box(xy, placed, min_joints=MIN_BOX_JOINTS)
    if box is None:
        return None
    h, w = frame_hw
    box = np.array([np.clip(box[0], 0, w), np.clip(box[1], 0, h), np.clip(box[2], 0, w), np.clip(box[3], 0, h)])
    if min(box[2] - box[0], box[3] - box[1]) < 2:
        return None
    return box


def _plausible(old: np.ndarray, new: np.ndarray) -> bool:
    """People do not double in size between two frames: a box that does is a tracking failure."""
    def side(b: np.ndarray) -> float:
        return float(max(b[2] - b[0], b[3] - b[1], 1.0))
    r = side(new) / side(old)
    return 1.0 / MAX_SIDE_CHANGE <= r <= MAX_SIDE_CHANGE


def follow(model: Any, frames: Iterable[np.ndarray], device: Any = "cpu", box: Any = None) -> Iterator[FrameResult]:
    """Per-frame outputs of ``model`` over ``frames`` (RGB uint8), the crop following the person."""
    f = Follower(model, device, None if box is None else np.asarray(box, float))
    for fr in frames:
        yield f.step(fr)
