"""Validation metrics of a run: action accuracy (the paper's protocol) and PCK@0.2 of the attention.

Why its own module: what "better" means for a run (which checkpoint becomes ``best.pt``)
is decided from these numbers, and the loop should not carry the bookkeeping.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def validate(model: Any, ds: Any, forward: Callable[[dict], Any], batch: int = 8) -> dict[str, Any]:
    """Accuracy (T equally spaced frames, last step's logits) and PCK@0.2 (arg-max cell) over ``ds``."""
    import torch

    from rpan_core.data import collate
    from rpan_core.targets import decode_argmax, label_bbox, pck

    if len(ds) == 0:
        return {"val_accuracy": None, "val_pck": None, "val_videos": 0}
    model.eval()
    correct = seen = 0
    preds, gts, vis = [], [], []
    with torch.no_grad():
        for s in range(0, len(ds), batch):
            idx = list(range(s, min(s + batch, len(ds))))
            b = collate([ds[i] for i in idx])
            out = forward(b)
            am = b["action_mask"].bool()
            pred = out.logits[:, -1].argmax(-1).cpu()
            correct += int((pred[am] == b["label"][am]).sum())
            seen += int(am.sum())
            for n, i in enumerate(idx):
                it = ds.items[i]
                fidx, _ = ds.indices(i)
                pos = np.searchsorted(it.label_frames, fidx)
                wins = ds.windows(i, fidx) if hasattr(ds, "windows") else None  # a person's crops
                for t, (f, p) in enumerate(zip(fidx, pos)):
                    if p < len(it.label_frames) and it.label_frames[p] == f:
                        if wins is not None:  # decoded in the crop, scored in frame pixels
                            xy, _ = decode_argmax(out.attention[n, t].float().cpu(), ds.input_size)
                            xy = wins[t].to_frame(np.asarray(xy))
                        else:
                            xy, _ = decode_argmax(out.attention[n, t].float().cpu(), (it.height, it.width))
                        preds.append(np.asarray(xy))
                        gts.append(it.xy[p])
                        vis.append(it.visible[p])
    res: dict[str, Any] = {"val_accuracy": correct / seen if seen else None, "val_videos": len(ds), "val_pck": None}
    if preds:
        P, G, V = np.stack(preds), np.stack(gts), np.stack(vis)
        res["val_pck"] = float(pck(P, G, V, label_bbox(G, V), alpha=0.2)[1])
    return res


def best_metric(requested: str, held_out: dict[str, bool], pose_only: bool) -> str | None:
    """What ``best.pt`` maximizes (``accuracy`` or ``pck``), or None where no held-out label can tell.

    Never the training accuracy: a "best" chosen on the data it was trained on (or on
    nothing, which kept epoch 1) is announced as better than ``last.pt`` while it is not.
    """
    if requested == "auto":
        if held_out.get("accuracy") and not pose_only:
            return "accuracy"
        return "pck" if held_out.get("pck") else None
    return requested if held_out.get(requested) else None


def score(metrics: dict[str, Any], by: str | None) -> float | None:
    """The number ``best.pt`` maximizes: held-out accuracy (PCK breaking ties) or held-out PCK; None: unknown."""
    if by == "accuracy" and metrics.get("val_accuracy") is not None:
        return metrics["val_accuracy"] + 1e-3 * (metrics.get("val_pck") or 0.0)
    if by == "pck" and metrics.get("val_pck") is not None:
        return float(metrics["val_pck"])
    return None


__all__ = ["validate", "best_metric", "score"]
