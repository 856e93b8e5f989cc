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
                for t, (f, p) in enumerate(zip(fidx, pos)):
                    if p < len(it.label_frames) and it.label_frames[p] == f:
                        xy, _ = decode_argmax(out.attention[n, t].float().cpu(), (it.height, it.width))
                        preds.append(np.asarray(xy))
                        gts.append(it.xy[p])
                        vis.append(it.visible[p])
    res: dict[str, Any] = {"val_accuracy": correct / seen if seen else None, "val_videos": len(ds), "val_pck": None}
    if preds:
        P, G, V = np.stack(preds), np.stack(gts), np.stack(vis)
        res["val_pck"] = float(pck(P, G, V, label_bbox(G, V), alpha=0.2)[1])
    return res


def score(metrics: dict[str, Any]) -> float:
    """The number ``best.pt`` maximizes: validation accuracy (else training accuracy), PCK breaking ties."""
    s = metrics.get("val_accuracy")
    s = s if s is not None else metrics.get("train_accuracy") or 0.0
    return s + 1e-3 * (metrics.get("val_pck") or 0.0)


__all__ = ["validate", "score"]
