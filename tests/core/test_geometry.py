"""Frame <-> input <-> cells: exact round trips, aspect kept, crops at the image border, warps that line up."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rpan_core.errors import ConfigError
from rpan_core.geometry import Window, augmentation, cells_to_input, input_to_cells, pose_box
from rpan_core.targets import decode_quadratic, joint_targets

PORTRAIT, LANDSCAPE = (1920, 1080), (994, 1768)
INPUT = (256, 192)


def _points(frame_hw, n=50, seed=0):
    rng = np.random.default_rng(seed)
    h, w = frame_hw
    return rng.uniform([-50, -50], [w + 50, h + 50], size=(n, 2))


@pytest.mark.parametrize("frame", [PORTRAIT, LANDSCAPE, (240, 320), (1088, 1920)])
def test_letterbox_keeps_aspect_and_round_trips(frame):
    win = Window.letterbox(frame, INPUT)
    p = _points(frame)
    assert np.abs(win.to_frame(win.to_input(p)) - p).max() < 1e-4
    # same scale along x and y, and the frame fits inside the input touching two opposite sides
    a = win.matrix[:, :2]
    assert abs(a[0, 0] - a[1, 1]) < 1e-12 and a[0, 1] == 0 and a[1, 0] == 0
    corners = win.to_input(np.array([[-0.5, -0.5], [frame[1] - 0.5, frame[0] - 0.5]]))  # the outer pixel edges
    assert (corners >= -1e-9).all() and corners[1, 0] <= INPUT[1] + 1e-9 and corners[1, 1] <= INPUT[0] + 1e-9
    assert min(abs(corners[1, 0] - corners[0, 0] - INPUT[1]), abs(corners[1, 1] - corners[0, 1] - INPUT[0])) < 1e-9
    # centred
    mid = win.to_input(np.array([(frame[1] - 1) / 2, (frame[0] - 1) / 2]))  # the middle of the pixel centres
    assert np.allclose(mid, [INPUT[1] / 2, INPUT[0] / 2])


@pytest.mark.parametrize("frame", [PORTRAIT, LANDSCAPE])
@pytest.mark.parametrize("box", [(-80, -40, 300, 700), (900, 1500, 1300, 2100), (400, 300, 700, 1200)])
def test_person_crop_round_trips_at_borders_and_contains_box(frame, box):
    win = Window.around_box(box, INPUT, margin=0.2)
    p = _points(frame, seed=1)
    assert np.abs(win.to_frame(win.to_input(p)) - p).max() < 1e-4
    fb = win.frame_box()
    assert fb[0] < box[0] and fb[1] < box[1] and fb[2] > box[2] and fb[3] > box[3]
    assert abs((fb[2] - fb[0]) / (fb[3] - fb[1]) - INPUT[1] / INPUT[0]) < 1e-9  # aspect of the input


def test_augmented_and_flipped_windows_round_trip():
    rng = np.random.default_rng(3)
    win = Window.around_box((300, 400, 700, 1500), INPUT)
    for _ in range(5):
        w2 = win.then(augmentation(INPUT, rng)).flipped()
        p = _points(PORTRAIT, seed=2)
        assert np.abs(w2.to_frame(w2.to_input(p)) - p).max() < 1e-4
    f = win.flipped()
    q = win.to_input(np.array([[500.0, 900.0]]))
    assert np.allclose(f.to_input(np.array([[500.0, 900.0]]))[0, 0], INPUT[1] - q[0, 0])


@pytest.mark.parametrize("frame", [PORTRAIT, LANDSCAPE])
def test_warp_lines_up_with_point_mapping(frame):
    h, w = frame
    img = np.zeros((h, w, 3), np.uint8)
    x, y = 0.37 * w, 0.61 * h
    img[int(y) - 12:int(y) + 12, int(x) - 12:int(x) + 12] = 255  # a 24 px square of pixels int(x) - 12 .. + 11
    centre = np.array([int(x), int(y)], dtype=float) - 0.5  # between its two middle pixels' centres
    for win in (Window.letterbox(frame, INPUT), Window.around_box((x - 200, y - 300, x + 150, y + 250), INPUT)):
        out = win.warp(img)[..., 0].astype(float)
        assert out.shape == INPUT
        yy, xx = np.mgrid[:INPUT[0], :INPUT[1]]
        com = np.array([(out * (xx + 0.5)).sum(), (out * (yy + 0.5)).sum()]) / out.sum()
        assert np.abs(com - win.to_input(centre)).max() < 0.35


def test_cells_round_trip_and_targets_decode_back():
    grid = (64, 48)
    p = np.array([[10.3, 200.7], [95.0, 17.2], [180.9, 250.1]])
    assert np.abs(cells_to_input(*input_to_cells(p, INPUT, grid).T, INPUT, grid) - p).max() < 1e-9
    tg = joint_targets(torch.tensor(p, dtype=torch.float32), torch.ones(3, dtype=torch.bool), INPUT, grid,
                       sigma_px=6.0)
    att = tg[:, :-1].view(3, *grid)
    xy, conf = decode_quadratic(att, INPUT)
    assert (xy.numpy() - p).__abs__().max() < 0.25  # sub-cell (a cell is 4 px)
    assert (conf > 0.5).all()


def test_pose_box_and_bad_sizes():
    xy = np.array([[1, 2], [5, 9], [np.nan, 3], [100, 100]], float)
    assert np.allclose(pose_box(xy, [True, True, True, False]), [1, 2, 5, 9])
    assert pose_box(xy, [True, False, False, False]) is None
    with pytest.raises(ConfigError):
        Window.letterbox((0, 10), INPUT)
    with pytest.raises(ConfigError):
        Window.around_box((0, 0, np.inf, 5), INPUT)


def test_attention_of_a_crop_is_drawn_where_the_crop_looked():
    from rpan_core.geometry import grid_map_to_frame

    grid = np.zeros((64, 48), np.float32)
    grid[40, 10] = 1.0
    win = Window.around_box((300, 500, 600, 1300), INPUT)
    out = grid_map_to_frame(grid, win.matrix, INPUT, PORTRAIT, out_size=(960, 540))  # half-resolution frame
    y, x = np.unravel_index(np.argmax(out), out.shape)
    want = win.to_frame(cells_to_input(40, 10, INPUT, (64, 48))) / 2  # out pixels are 2 frame pixels
    assert abs(x + 0.5 - want[0]) <= 1.0 and abs(y + 0.5 - want[1]) <= 1.0
    assert out[:100].max() == 0  # nothing drawn far outside the crop


BRIGHT = (137, 88)  # a label at pixel column 137, row 88 of a 240 x 320 frame (pixel centres at integers)


def _bright_frame():
    img = np.zeros((240, 320, 3), np.uint8)
    img[BRIGHT[1], BRIGHT[0]] = 255
    return img


def _windows():
    rng = np.random.default_rng(5)
    x, y = BRIGHT
    crop = Window.around_box((x - 9, y - 14, x + 11, y + 13), INPUT, margin=0.25)  # upscaled about 5x
    yield "crop", crop
    yield "flipped crop", crop.flipped()
    for k in range(3):
        yield f"augmented crop {k}", crop.then(augmentation(INPUT, rng, rotate_deg=0.0))


@pytest.mark.parametrize("name", [n for n, _ in _windows()])
def test_a_labelled_pixel_lands_where_the_warped_image_shows_it(name):
    """The pixel a label names, warped into the model's input, is centred where ``to_input`` puts the label
    (continuous input pixels: the input pixel (i, j) has its centre at (j + 0.5, i + 0.5)); the target built
    there peaks in the cell where the image is brightest; decoded and mapped back, it is the label exactly.
    Before the pixel-centre rule, labels were taken as pixel corners: half a frame pixel off (2.5 input px
    on this crop, and the other way on the flipped one)."""
    win = dict(_windows())[name]
    out = win.warp(_bright_frame())[..., 0].astype(float)
    yy, xx = np.mgrid[:INPUT[0], :INPUT[1]]
    blob = np.array([(out * (xx + 0.5)).sum(), (out * (yy + 0.5)).sum()]) / out.sum()
    p = win.to_input(np.array(BRIGHT, float))
    assert np.abs(blob - p).max() < 0.1, (blob, p)
    grid = (64, 48)
    tg = joint_targets(torch.tensor(p[None], dtype=torch.float32), torch.ones(1, dtype=torch.bool), INPUT, grid,
                       sigma_px=2.0)
    cells = torch.nn.functional.avg_pool2d(torch.tensor(out)[None, None], 4)[0, 0]  # the image per 4 x 4 cell
    assert int(tg[0, :-1].argmax()) == int(cells.flatten().argmax())
    xy_in, _ = decode_quadratic(tg[:, :-1].reshape(1, *grid), INPUT)
    assert np.abs(win.to_frame(xy_in.numpy())[0] - BRIGHT).max() < 0.05
    assert np.abs(win.to_frame(win.to_input(np.array(BRIGHT, float))) - BRIGHT).max() < 1e-9


def test_a_crop_around_a_single_pixel_box_is_centred_on_that_pixel():
    win = Window.around_box((50, 70, 50, 70), INPUT)  # both corners at pixel (50, 70)
    assert np.allclose(win.to_input(np.array([50.0, 70.0])), [INPUT[1] / 2, INPUT[0] / 2])
    out = win.warp(_bright_frame_at(50, 70))[..., 0].astype(float)
    yy, xx = np.mgrid[:INPUT[0], :INPUT[1]]
    assert np.allclose([(out * (xx + 0.5)).sum() / out.sum(), (out * (yy + 0.5)).sum() / out.sum()],
                       [INPUT[1] / 2, INPUT[0] / 2], atol=0.5)


def _bright_frame_at(x, y):
    img = np.zeros((240, 320, 3), np.uint8)
    img[y, x] = 255
    return img


def test_a_region_of_the_crop_map_is_the_same_as_that_part_of_the_whole_map():
    """Several persons' heat maps warp only their crop's rectangle; it must be the very same values."""
    from rpan_core.geometry import grid_map_to_frame

    grid = np.random.default_rng(3).random((64, 48)).astype(np.float32)
    win = Window.around_box((300, 500, 600, 1300), INPUT)
    whole = grid_map_to_frame(grid, win.matrix, INPUT, PORTRAIT, out_size=(640, 360))
    region = (170, 460, 70, 230)
    part = grid_map_to_frame(grid, win.matrix, INPUT, PORTRAIT, out_size=(640, 360), region=region)
    assert part.shape == (290, 160)
    np.testing.assert_allclose(part, whole[170:460, 70:230], atol=1e-5)
    assert grid_map_to_frame(grid, win.matrix, INPUT, PORTRAIT, out_size=(640, 360), region=(5, 5, 0, 9)).size == 0
