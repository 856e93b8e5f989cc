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
            box = pose_box(res.xy, res.conf > 0) if res.conf.mean() >= LOST_CONF else None
            self.box = box if box is not None else np.array([0, 0, hw[1], hw[0]], float)
        res, self.state = self._run(frame, Window.around_box(self.box, size, MARGIN))
        self._lost = bool(res.conf.mean() < LOST_CONF)
        nb = pose_box(res.xy, np.ones(len(res.xy), bool))
        if nb is not None and not self._lost:
            self.box = nb
        return res


def follow(model: Any, frames: Iterable[np.ndarray], device: Any = "cpu", box: Any = None) -> Iterator[FrameResult]:
    """Per-frame outputs of ``model`` over ``frames`` (RGB uint8), the crop following the person."""
    f = Follower(model, device, None if box is None else np.asarray(box, float))
    for fr in frames:
        yield f.step(fr)
