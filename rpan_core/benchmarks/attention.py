"""Benchmark: the vectorized attention + LSTM head against the per-joint loop reference.

Why: the head runs once per frame in analysis and once per sampled frame in
training; the paper's shape (PennAction: 16 clips x 8 frames, 9 x 15 x 1024 cubes,
LSTM 1024, attention width 128) is where vectorizing over joints and parts must
pay. Both paths share the same weights and inputs in one run; the outputs are
compared (max abs difference) and the speed is reported as a ratio.
"""
from __future__ import annotations

import torch

from rpan_core.benchmarks import best_time


def run(quick: bool = False, device: str | None = None) -> dict:
    from rpan_core.device import pick_device
    from rpan_core.model import RPAN, preset
    from rpan_core.model.reference import reference_forward_features

    dev = pick_device(device)
    B, T, dc, K1, K2 = (4, 4, 256, 9, 15) if quick else (16, 8, 1024, 9, 15)
    H, d = (256, 64) if quick else (1024, 128)
    torch.manual_seed(0)
    cfg = preset("pennaction", backbone="small_cnn", backbone_weights=None, hidden=H, attention_dim=d)
    model = RPAN(cfg).to(dev).eval()
    # the head only sees the cube; swap the LSTM input width for the benchmark's dc
    model.lstm = torch.nn.LSTMCell(dc * model.P, H).to(dev)
    model.A_c = torch.nn.Parameter(torch.randn(model.A_c.shape[0], d, dc, device=dev) * dc ** -0.5)
    cube = torch.randn(B, T, dc, K1, K2, device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    with torch.no_grad():
        fast = model.forward_features(cube)
        ref = reference_forward_features(model, cube)
        diff = max(float((getattr(fast, n) - getattr(ref, n)).abs().max()) for n in ("logits", "attention", "hidden"))

        def f_fast() -> None:
            model.forward_features(cube)
            sync()

        def f_ref() -> None:
            reference_forward_features(model, cube)
            sync()

        reps = 2 if quick else 3
        t_fast, t_ref = best_time(f_fast, reps, warmup=True), best_time(f_ref, reps, warmup=True)
    return {"shape": f"B{B} T{T} {K1}x{K2}x{dc} H{H} d{d}", "device": str(dev), "max_abs_diff": diff,
            "vectorized_ms_per_clip_batch": 1000 * t_fast, "loop_reference_ms_per_clip_batch": 1000 * t_ref,
            "speedup_vectorized_over_loop": t_ref / t_fast}
