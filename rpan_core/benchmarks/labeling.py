"""Benchmark: how many joints a person must move to label a video, with and without the model.

The studio's promise is that correcting the model's poses is cheaper than
labeling from nothing, and gets cheaper as the model is fine-tuned on the
corrections. This measures it with a simulated annotator on synthetic videos
whose joints are exact. The annotator moves a joint when the label it is shown
is off by more than a tolerance (5 % of the larger side of the person's box) or
has the wrong visibility flag; labeling from nothing, it places every visible
joint. Work is counted as joints moved per frame, at four stages:

(a) from nothing, (b) starting from the demo model's predictions, (c) after one
fine-tune round on a few hundred corrected frames from *other* videos, (d) after
a second round. Fine-tuning uses frozen, cached backbone cubes, so a round takes
seconds to a minute on a CPU; its time is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The annotator's tolerance, as a fraction of the larger side of the person's box.
TOLERANCE = 0.05


def joint_tolerance(bbox_xyxy: np.ndarray, fraction: float = TOLERANCE) -> np.ndarray:
    """Per-frame tolerance in pixels: ``fraction * max(box width, box height)``; ``F x 4 -> F``."""
    b = np.asarray(bbox_xyxy, dtype=np.float64)
    return fraction * np.maximum(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])


def joints_to_move(pred_xy: np.ndarray, pred_visible: np.ndarray, true_xy: np.ndarray,
                   true_visible: np.ndarray, bbox_xyxy: np.ndarray,
                   fraction: float = TOLERANCE) -> np.ndarray:
    """``F x J`` bool: the joints the annotator has to touch to reach the truth.

    A truly visible joint is touched when the shown label says invisible or lies
    farther than the tolerance from the truth (distance strictly above it). A truly
    invisible joint is touched only when the shown label says visible (one click
    to flip the flag); its position does not matter.
    """
    pred_visible = np.asarray(pred_visible, bool)
    true_visible = np.asarray(true_visible, bool)
    dist = np.linalg.norm(np.asarray(pred_xy, np.float64) - np.asarray(true_xy, np.float64), axis=-1)
    tol = joint_tolerance(bbox_xyxy, fraction)[..., None]
    wrong_place = true_visible & pred_visible & (dist > tol)
    wrong_flag = pred_visible != true_visible
    return wrong_place | wrong_flag


def from_nothing(true_visible: np.ndarray) -> np.ndarray:
    """``F``: joints placed per frame when labeling from nothing (every visible joint)."""
    return np.asarray(true_visible, bool).sum(-1)


@dataclass
class Effort:
    """Totals over a set of frames: joints moved, frames, and what from nothing would cost."""

    moved: int
    frames: int
    baseline: int

    @property
    def per_frame(self) -> float:
        return self.moved / max(1, self.frames)

    @property
    def saved(self) -> float:
        """Fraction of the from-nothing work that is saved (1 = nothing to do)."""
        return 1.0 - self.moved / max(1, self.baseline)


def effort(pred_xy: np.ndarray | None, pred_visible: np.ndarray | None, true_xy: np.ndarray,
           true_visible: np.ndarray, bbox_xyxy: np.ndarray, fraction: float = TOLERANCE) -> Effort:
    """The annotator's work on one video; ``pred_xy=None`` means labeling from nothing."""
    base = int(from_nothing(true_visible).sum())
    if pred_xy is None:
        return Effort(base, len(true_visible), base)
    moved = int(joints_to_move(pred_xy, pred_visible, true_xy, true_visible, bbox_xyxy, fraction).sum())
    return Effort(moved, len(true_visible), base)


# ----------------------------------------------------------------------------- the simulation

DEMO_CHECKPOINT = "assets/demo_checkpoint.pt"


def _demo_model():
    import torch

    from rpan_core.model import RPAN, RPANConfig

    path = __import__("pathlib").Path(__file__).resolve().parents[2] / DEMO_CHECKPOINT
    d = torch.load(path, map_location="cpu", weights_only=False)
    model = RPAN(RPANConfig.from_dict(d["config"]))
    model.load_state_dict(d["state"])
    return model.eval(), list(d["classes"])


def _predict(model, cube, frame_size):
    """Predicted (xy F x J x 2, visible F x J) over a whole video's cached cube."""
    import torch

    from rpan_core.targets import decode_refined

    with torch.no_grad():
        out = model.forward_features(cube)
        xy, _ = decode_refined(out.attention[0], frame_size)
    return xy.numpy(), (out.dummy[0] < 0.5).numpy()


def _finetune(model, clips, frame_size, epochs: int, steps: int = 8, seed: int = 0) -> float:
    """One fine-tune round on cached cubes (frozen backbone): action + pose loss, Adam."""
    import time

    import torch

    from rpan_core.losses import rpan_loss
    from rpan_core.targets import joint_targets
    from rpan_core.train import attention_with_dummy

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    params = [p for n, p in model.named_parameters() if not n.startswith("backbone")]
    opt = torch.optim.Adam(params, lr=1e-3)
    model.train()
    for _ in range(epochs):
        for k in rng.permutation(len(clips)):
            cube, xy, vis, label = clips[k]
            s = int(rng.integers(0, max(1, cube.shape[1] - steps + 1)))
            sl = slice(s, s + steps)
            out = model.forward_features(cube[:, sl])
            tgt = joint_targets(torch.from_numpy(xy[sl]).float()[None], torch.from_numpy(vis[sl])[None],
                                frame_size, model.grid)
            T = out.logits.shape[1]
            loss = rpan_loss(out.logits, attention_with_dummy(out), torch.tensor([label]), tgt,
                             torch.ones(1, T, dtype=torch.bool), torch.ones(1, dtype=torch.bool))["total"]
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return time.perf_counter() - t0


def run(quick: bool = False) -> dict:
    """Joints to move per frame at stages (a)-(d); fraction saved; fine-tune seconds per round."""
    import torch

    from rpan_core import synth

    torch.manual_seed(0)
    model, classes = _demo_model()
    size = synth.DEFAULT_SIZE
    n_frames = 16 if quick else 32
    n_eval, n_round = (3, 4) if quick else (9, 12)  # round: videos x n_frames corrected frames
    epochs = 2 if quick else 4

    def video(seed, action):
        sv = synth.render_video(seed, action, n_frames=n_frames, size=size)
        with torch.no_grad():
            cube = model.features(model.preprocess(sv.frames[None]))
        return cube, sv

    acts = [a for a in synth.ACTIONS if a in classes] or list(synth.ACTIONS)
    evals = [video(9000 + i, acts[i % len(acts)]) for i in range(n_eval)]
    pool = [video(5000 + i, acts[i % len(acts)]) for i in range(2 * n_round)]
    clips = [(c, sv.xy, sv.visible, classes.index(sv.action) if sv.action in classes else 0) for c, sv in pool]

    def stage(pred: bool) -> Effort:
        tot = Effort(0, 0, 0)
        for cube, sv in evals:
            p = _predict(model, cube, size) if pred else (None, None)
            e = effort(p[0], p[1], sv.xy, sv.visible, sv.bbox)
            tot = Effort(tot.moved + e.moved, tot.frames + e.frames, tot.baseline + e.baseline)
        return tot

    res: dict = {"eval_frames": n_eval * n_frames, "frames_per_round": n_round * n_frames}
    a, b = stage(False), stage(True)
    t1 = _finetune(model, clips[:n_round], size, epochs)
    c = stage(True)
    t2 = _finetune(model, clips, size, epochs, seed=1)
    d = stage(True)
    for name, e in (("a_from_nothing", a), ("b_demo_model", b), ("c_round1", c), ("d_round2", d)):
        res[f"{name}_joints_per_frame"] = e.per_frame
        res[f"{name}_work_saved"] = e.saved
    res["round1_finetune_s"], res["round2_finetune_s"] = t1, t2
    return res
