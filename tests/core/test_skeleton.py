import numpy as np
import pytest

from rpan_core.skeleton import COCO, JHMDB, PENNACTION, SkeletonError, convert_pose, get_skeleton, joint_mapping


def test_pennaction_order_follows_dataset_readme():
    assert PENNACTION.joints[:3] == ("head", "left_shoulder", "right_shoulder")
    assert PENNACTION.joints[-1] == "right_ankle"
    assert PENNACTION.num_joints == 13


@pytest.mark.parametrize("sk", [PENNACTION, JHMDB, COCO])
def test_mirror_is_an_involution_swapping_left_and_right(sk):
    flip = np.array(sk.flip_index)
    assert (flip[flip] == np.arange(sk.num_joints)).all()
    for j, name in enumerate(sk.joints):
        other = sk.joints[flip[j]]
        if name.startswith("left_"):
            assert other == "right_" + name[5:]
        elif not name.startswith("right_"):
            assert other == name


def test_parts_follow_the_paper():
    assert [PENNACTION.joints[j] for j in PENNACTION.joints_of_part("wrist")] == ["left_wrist", "right_wrist"]
    torso = {JHMDB.joints[j] for j in JHMDB.joints_of_part("torso")}
    assert torso == {"neck", "belly", "head", "left_shoulder", "right_shoulder", "left_hip", "right_hip"}
    m = PENNACTION.part_matrix()
    assert m.shape == (5, 13) and (m.sum(0) == 1).all()


def test_mapping_and_conversion():
    pairs = joint_mapping("pennaction", "coco")
    assert len(pairs) == 12  # everything but the head
    assert (0, 0) in joint_mapping("pennaction", "coco", aliases=True)
    xy = np.arange(26, dtype=float).reshape(13, 2)
    out, vis = convert_pose(xy, np.ones(13, bool), "pennaction", "jhmdb")
    assert np.isnan(out[JHMDB.index("neck")]).all() and not vis[JHMDB.index("neck")]
    assert (out[JHMDB.index("left_wrist")] == xy[PENNACTION.index("left_wrist")]).all()


def test_flip_xy_mirrors_coordinates():
    xy = np.zeros((13, 2))
    xy[PENNACTION.index("left_wrist")] = (10, 5)
    out = PENNACTION.flip_xy(xy, width=100)
    assert tuple(out[PENNACTION.index("right_wrist")]) == (89, 5)


def test_unknown_names_are_clear_errors():
    with pytest.raises(SkeletonError, match="choose one of"):
        get_skeleton("mpii")
    with pytest.raises(SkeletonError, match="no joint"):
        PENNACTION.index("tail")
