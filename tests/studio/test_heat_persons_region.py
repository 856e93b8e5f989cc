"""Several persons' heat maps: each is warped only inside its crop, with the same result as warping the
whole frame and cutting it at the crop (what the studio drew before; tested against that reference)."""
from __future__ import annotations

import numpy as np

from rpan_core.geometry import Window, grid_map_to_frame
from rpan_studio.views.overlays import OverlayOptions, attention_map, colorize_heat, crop_rect, heat_rgba_persons

INPUT = (256, 192)


def _reference(layers, frame_size, opts, out):
    combined = np.zeros(out, np.float32)
    for attention, window, input_size in layers:
        m = grid_map_to_frame(attention_map(attention, opts.heat_mode, opts.joint, opts.part_joints), window,
                              input_size, frame_size, out)
        r0, r1, c0, c1 = crop_rect(window, input_size, frame_size, out)
        cut = np.zeros_like(m)
        cut[r0:r1, c0:c1] = m[r0:r1, c0:c1]
        if cut.max() > 0:
            np.maximum(combined, cut / cut.max(), out=combined)
    return colorize_heat(combined, opts.opacity)


def test_three_persons_heat_equals_the_whole_frame_warp_cut_at_each_crop():
    rng = np.random.default_rng(7)
    frame = (720, 1280)
    boxes = [(100, 200, 300, 650), (250, 150, 520, 700), (900, 300, 1270, 719)]  # the last one past the edge
    layers = [(rng.random((13, 64, 48)).astype(np.float32), Window.around_box(b, INPUT).matrix, INPUT)
              for b in boxes]
    opts = OverlayOptions()
    got = heat_rgba_persons(layers, frame, opts, max_side=640)
    want = _reference(layers, frame, opts, got.shape[:2])
    assert got.shape == want.shape
    diff = np.abs(got.astype(int) - want.astype(int)).max(axis=-1)
    # the same map values (to 1e-5, see test_geometry); a value on a colour-table step may land one step over
    assert diff.max() <= 3 and (diff > 0).mean() < 0.001
    # outside every crop nothing is drawn
    alpha = got[..., 3]
    r0 = min(crop_rect(w, s, frame, got.shape[:2])[0] for _a, w, s in layers)
    assert alpha[:r0].max() == 0
