"""rpan_core.smoothing: the running median drops a one-frame miss and keeps smooth motion."""
from __future__ import annotations

import numpy as np
import pytest

from rpan_core.errors import ConfigError
from rpan_core.smoothing import median_smooth


def test_a_one_frame_miss_is_dropped_and_steady_motion_kept():
    t = np.arange(20, dtype=np.float64)
    xy = np.stack([np.stack([3 * t, 100 - t], -1)] * 2, 1)  # 20 x 2 joints x 2, moving steadily
    bad = xy.copy()
    bad[7, 1] = (500.0, -400.0)  # joint 1 read on the wrong limb for one frame
    out = median_smooth(bad, 5)
    far = np.abs(t - 7) > 2
    np.testing.assert_allclose(out[far], xy[far])  # a straight line is its own running median, ends included
    np.testing.assert_allclose(out[~far], xy[~far], atol=3.0)  # the miss is gone: within one frame's motion
    assert np.abs(bad[7, 1] - xy[7, 1]).max() > 100
    assert np.abs(median_smooth(bad, 1) - bad).max() == 0


def test_missing_points_stay_missing_and_are_left_out_of_their_neighbours():
    xy = np.tile(np.array([10.0, 20.0]), (9, 1, 1))
    xy[4, 0] = np.nan
    xy[5, 0] = (1e4, 1e4)
    out = median_smooth(xy, 5)
    assert np.isnan(out[4, 0]).all()  # no position: none is made up
    np.testing.assert_allclose(out[5, 0], (10.0, 20.0))  # the outlier's neighbours outvote it, the gap is skipped
    assert np.isfinite(np.delete(out[:, 0], 4, 0)).all()


def test_an_even_window_is_refused_with_one_line():
    with pytest.raises(ConfigError, match="odd number of frames"):
        median_smooth(np.zeros((5, 1, 2)), 4)
