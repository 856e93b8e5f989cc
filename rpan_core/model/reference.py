"""A plainly written RPAN step: Python loops over joints and parts, the paper's equations one by one.

Why keep a slow copy: the real head (rpan.py) is vectorized over joints and parts
with gathered parameter groups and einsums, which is easy to get subtly wrong.
This reference reads like Eq. 2-10 of the paper, shares the model's weights, and
is what the tests compare the fast path against (and what the attention
benchmark measures the speed-up over).
"""
from __future__ import annotations

import torch

from rpan_core.model.rpan import RPAN, RPANOutput


def reference_step(model: RPAN, cube: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
                   ) -> tuple[RPANOutput, tuple[torch.Tensor, torch.Tensor]]:
    """One step on a cube ``B x dc x K1 x K2``; same result as ``model.step_features``."""
    h, c = state
    b, dc, k1, k2 = cube.shape
    cfg = model.cfg
    ck = cube.flatten(2).transpose(1, 2)  # B x K x dc: C_t(k)
    n_cells = k1 * k2
    parts = [[j for j in range(model.J) if int(model.joint_part[j]) == p] for p in range(model.P)]
    if cfg.attention == "none":
        att = cube.new_full((b, model.J, n_cells), 1.0 / n_cells)
        dummy = cube.new_zeros(b, model.J)
        x = ck.mean(1)
    else:
        alphas, dummies = [], []
        for j in range(model.J):
            g = int(model.group[j])
            v = model.v[j] if cfg.attention == "human-part" else model.v[g]
            A_h, A_c, bias = model.A_h[g], model.A_c[g], model.b[g]
            # Eq. 2: a~(k) = v . tanh(A_h h_{t-1} + A_c C(k) + b), for every cell k ...
            pre = (h @ A_h.T)[:, None, :] + ck @ A_c.T + bias        # B x K x d
            score = torch.tanh(pre) @ v                               # B x K
            # ... and for the dummy location K+1, whose feature is zero.
            score_dummy = torch.tanh(h @ A_h.T + bias) @ v            # B
            # Eq. 3: softmax over the K cells and the dummy.
            a = torch.softmax(torch.cat([score, score_dummy[:, None]], 1), 1)
            alphas.append(a[:, :-1])
            dummies.append(a[:, -1])
        att = torch.stack(alphas, 1)
        dummy = torch.stack(dummies, 1)
        part_feats = []
        for members in parts:
            # Eq. 4: F^P = sum over the part's joints of the attention-weighted cube.
            fp = cube.new_zeros(b, dc)
            for j in members:
                fp = fp + (att[:, j, :, None] * ck).sum(1)
            part_feats.append(fp)
        # Eq. 5: part pooling.
        if cfg.pool == "concat":
            x = torch.cat(part_feats, 1)
        elif cfg.pool == "max":
            x = torch.stack(part_feats, 0).max(0).values
        else:
            x = torch.stack(part_feats, 0).mean(0)
    # Eq. 6-9: the LSTM, gates written out (PyTorch's row order: input, forget, cell, output).
    gates = x @ model.lstm.weight_ih.T + model.lstm.bias_ih + h @ model.lstm.weight_hh.T + model.lstm.bias_hh
    i, f, gg, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
    h = torch.sigmoid(o) * torch.tanh(c)
    # Eq. 10 (logits; the softmax is applied by the loss / the caller).
    logits = h @ model.classifier.weight.T + model.classifier.bias
    return RPANOutput(logits, att.view(b, model.J, k1, k2), dummy, h), (h, c)


def reference_forward_features(model: RPAN, cube: torch.Tensor) -> RPANOutput:
    """``B x T x dc x K1 x K2`` -> per-step outputs stacked over T, by the loop reference."""
    state = model.init_state(cube.shape[0])
    outs = []
    for t in range(cube.shape[1]):
        out, state = reference_step(model, cube[:, t], state)
        outs.append(out)
    return RPANOutput(*(torch.stack(z, 1) for z in zip(*outs)))
