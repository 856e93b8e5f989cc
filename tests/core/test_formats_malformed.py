"""Malformed dataset files (hypothesis-generated) raise only FormatError and leave the project unchanged."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpan_core.errors import FormatError
from rpan_core.project import Project

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                    derandomize=True)
T = 3


def _frames(folder: Path, n: int = T) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i + 1:06d}.jpg"), np.full((12, 16, 3), 30 * i, np.uint8))


def _state(p: Project) -> tuple:
    return ([(v.id, v.path, v.action, v.split) for v in p.videos()], p.classes, p.label_count(),
            [p.video_labels(v.id).xy.tobytes() for v in p.videos()])


def _project(root: Path, skeleton: str) -> Project:
    """A project that already holds one labeled video, so 'unchanged' is a real check."""
    p = Project.create(root / "proj", skeleton=skeleton, classes=["old"])
    _frames(root / "existing")
    vid = p.add_video(root / "existing", action="old")
    p.set_labels(vid, [(t, 0, 1.0, 2.0, True, "manual") for t in range(T)])
    return p


def _refused(p: Project, fn) -> None:
    before = _state(p)
    with pytest.raises(FormatError) as info:
        fn()
    assert _state(p) == before
    return info.value


# ------------------------------------------------------------------ array mutations shared by .mat formats

def _bad_array(draw, shape: tuple[int, ...], fixed_axes: int | None = None, coords: bool = False) -> object:
    """An array that must be refused: NaN/inf, a wrong size on one of the first ``fixed_axes`` axes, text,
    empty, or an extra axis. For ``coords`` (positions) NaN means "not labeled" and is fine, while a
    position far outside the frame (-1e9, 1e308, inf) is refused."""
    kinds = ["inf", "shape", "text", "empty", "ndim"] + (["far"] if coords else ["nan"])
    kind = draw(st.sampled_from(kinds))
    a = np.ones(shape)
    if kind == "nan":
        a.flat[draw(st.integers(0, a.size - 1))] = np.nan
        return a
    if kind == "far":
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([-1e9, 1e308, 1e200, -40.0, 60.0]))
        return a
    if kind == "inf":
        a.flat[draw(st.integers(0, a.size - 1))] = -np.inf
        return a
    if kind == "shape":
        axis = draw(st.integers(0, (fixed_axes or len(shape)) - 1))
        new = list(shape)
        new[axis] = draw(st.sampled_from([n for n in (1, 2, 4, 12, 14, 16) if n != shape[axis]]))
        return np.ones(new)
    if kind == "text":
        return "not numbers"
    if kind == "empty":
        return np.zeros((0, 0))
    return np.ones(shape + (2,))


# ------------------------------------------------------------------ PennAction

def _penn_valid() -> dict:
    return {"action": "bowl", "pose": "side", "x": np.full((T, 13), 5.0), "y": np.full((T, 13), 6.0),
            "visibility": np.ones((T, 13)), "train": np.array([[1]]), "bbox": np.tile([1.0, 1, 9, 9], (T, 1)),
            "dimensions": np.array([[12, 16, T]]), "nframes": np.array([[T]])}


@st.composite
def penn_mutation(draw) -> dict:
    d = _penn_valid()
    kind = draw(st.sampled_from(["drop", "array", "visibility", "train", "nframes", "dimensions", "bbox"]))
    if kind == "drop":
        del d[draw(st.sampled_from(sorted(d)))]
    elif kind == "array":
        field = draw(st.sampled_from(["x", "y", "visibility"]))
        d[field] = _bad_array(draw, (T, 13), coords=field != "visibility")
    elif kind == "visibility":
        d["visibility"][draw(st.integers(0, T - 1)), draw(st.integers(0, 12))] = draw(st.sampled_from([2, -1, 0.5]))
    elif kind == "train":
        d["train"] = np.array([[draw(st.sampled_from([0, 2, -2]))]])
    elif kind == "nframes":
        d["nframes"] = np.array([[draw(st.sampled_from([0, T - 1, T + 1, -1]))]])
    elif kind == "dimensions":
        d["dimensions"] = draw(st.sampled_from([np.array([[12, 16]]), np.array([[12, 16, T + 2]]),
                                                np.array([[0, 16, T]]), np.array([[12.5, 16, T]])]))
    else:
        d["bbox"] = _bad_array(draw, (T, 4))
    return d


def test_pennaction_malformed(tmp_path):
    from rpan_core.formats.pennaction import import_pennaction
    p = _project(tmp_path, "pennaction")
    src = tmp_path / "Penn_Action"
    _frames(src / "frames" / "0001")
    _frames(src / "frames" / "0002")
    (src / "labels").mkdir()
    scipy.io.savemat(src / "labels" / "0001.mat", _penn_valid())  # a good file first: it must not go in either

    @SETTINGS
    @given(penn_mutation())
    def check(d):
        scipy.io.savemat(src / "labels" / "0002.mat", d)
        err = _refused(p, lambda: import_pennaction(p, src))
        assert "0002.mat" in str(err)

    check()
    # the valid file alone imports (the harness is not refusing everything)
    (src / "labels" / "0002.mat").unlink()
    assert len(import_pennaction(p, src)) == 1


def test_pennaction_not_a_mat_file(tmp_path):
    from rpan_core.formats.pennaction import import_pennaction
    p = _project(tmp_path, "pennaction")
    src = tmp_path / "Penn_Action"
    _frames(src / "frames" / "0001")
    (src / "labels").mkdir()
    (src / "labels" / "0001.mat").write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(range(256)))
    err = _refused(p, lambda: import_pennaction(p, src))
    assert "0001.mat" in str(err)


# ------------------------------------------------------------------ JHMDB

@st.composite
def jhmdb_mutation(draw) -> dict:
    kind = draw(st.sampled_from(["drop", "array", "frames"]))
    if kind == "drop":
        return {"pos_imgs": np.ones((2, 15, T))}
    if kind == "frames":
        return {"pos_img": np.ones((2, 15, T + draw(st.integers(1, 3))))}
    return {"pos_img": _bad_array(draw, (2, 15, T), fixed_axes=2, coords=True)}  # fewer frames is fine


def test_jhmdb_malformed(tmp_path):
    from rpan_core.formats.jhmdb import import_jhmdb
    p = _project(tmp_path, "jhmdb")
    src = tmp_path / "JHMDB"
    for name in ("a", "b"):
        _frames(src / "Rename_Images" / "run" / name)
        (src / "joint_positions" / "run" / name).mkdir(parents=True)
    scipy.io.savemat(src / "joint_positions" / "run" / "a" / "joint_positions.mat", {"pos_img": np.ones((2, 15, T))})
    bad = src / "joint_positions" / "run" / "b" / "joint_positions.mat"

    @SETTINGS
    @given(jhmdb_mutation())
    def check(d):
        scipy.io.savemat(bad, d)
        err = _refused(p, lambda: import_jhmdb(p, src))
        assert "run/b/joint_positions.mat" in str(err) and ("pos_img" in str(err) or "frames" in str(err))
        assert "\n" not in str(err)

    check()
    shutil.rmtree(bad.parent)
    assert len(import_jhmdb(p, src)) == 1


# ------------------------------------------------------------------ COCO

def _coco_valid() -> dict:
    from rpan_core.formats.coco import keypoint_names
    names = keypoint_names("pennaction")
    kp = []
    for k in range(len(names)):
        kp += [float(k % 16), float(k % 12), 2]
    return {"images": [{"id": i + 1, "file_name": f"vid/{i:06d}.jpg", "width": 16, "height": 12, "frame_index": i}
                       for i in range(T)],
            "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "keypoints": list(kp),
                             "bbox": [0.0, 0.0, 15.0, 11.0]} for i in range(T)],
            "categories": [{"id": 1, "name": "person", "keypoints": names, "skeleton": [[1, 2]]}]}


REQUIRED = {"images": ["id", "file_name", "width", "height"], "annotations": ["image_id", "category_id", "keypoints"],
            "categories": ["id", "keypoints"]}


@st.composite
def coco_mutation(draw) -> dict:
    d = _coco_valid()
    kind = draw(st.sampled_from(["drop_top", "drop_field", "keypoints_len", "keypoint_value", "visibility",
                                 "type", "image_ref", "frame", "bbox", "names"]))
    i = draw(st.integers(0, T - 1))
    if kind == "drop_top":
        del d[draw(st.sampled_from(sorted(REQUIRED)))]
    elif kind == "drop_field":
        top = draw(st.sampled_from(sorted(REQUIRED)))
        del d[top][0 if top == "categories" else i][draw(st.sampled_from(REQUIRED[top]))]
    elif kind == "keypoints_len":
        kp = d["annotations"][i]["keypoints"]
        d["annotations"][i]["keypoints"] = kp[:draw(st.sampled_from([0, 3, 39, 51, 53]))] if draw(st.booleans()) \
            else kp + [1.0] * draw(st.integers(1, 4))
    elif kind == "keypoint_value":
        k = draw(st.integers(0, 17)) * 3 + draw(st.integers(0, 1))
        d["annotations"][i]["keypoints"][k] = draw(st.sampled_from([math.inf, -1e9, 1e308, "3", None, [1], True]))
    elif kind == "visibility":
        d["annotations"][i]["keypoints"][draw(st.integers(0, 17)) * 3 + 2] = draw(st.sampled_from([3, -1, 0.5]))
    elif kind == "type":
        top = draw(st.sampled_from(sorted(REQUIRED)))
        d[top] = draw(st.sampled_from([{}, "x", 3, None]))
    elif kind == "image_ref":
        d["annotations"][i]["image_id"] = draw(st.sampled_from([0, 99, "1", 1.5]))
    elif kind == "frame":
        d["images"][i]["frame_index"] = draw(st.sampled_from([-1, T, 1000, "0", 0.5]))
    elif kind == "bbox":
        d["annotations"][i]["bbox"] = draw(st.sampled_from([[0, 0, 1], [0, 0, math.nan, 1], "box", [0, 0, 1, None]]))
    else:
        d["categories"][0]["keypoints"] = draw(st.sampled_from([["eye_of_newt"] * 18, [], "nose", [1] * 18]))
    return d


def test_coco_malformed(tmp_path):
    from rpan_core.formats.coco import import_coco
    p = _project(tmp_path, "pennaction")
    _frames(tmp_path / "vid")
    path = tmp_path / "ann.json"

    @SETTINGS
    @given(coco_mutation())
    def check(d):
        path.write_text(json.dumps(d))  # NaN/inf are written as the JSON extensions NaN / Infinity
        err = _refused(p, lambda: import_coco(p, path, images_root=tmp_path))
        assert "ann.json" in str(err)

    check()
    path.write_text(json.dumps(_coco_valid()))
    assert len(import_coco(p, path, images_root=tmp_path)) == 1


json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=4),
                           lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                               st.sampled_from(["images", "annotations", "categories", "id", "keypoints",
                                                "file_name", "image_id", "category_id", "width", "height"]),
                               kids, max_size=5), max_leaves=20)


def test_coco_fuzz_only_format_errors(tmp_path):
    """Arbitrary JSON (and non-JSON) never escapes as anything but FormatError and never half-imports."""
    from rpan_core.formats.coco import import_coco
    p = _project(tmp_path, "pennaction")
    path = tmp_path / "fuzz.json"

    @SETTINGS
    @given(st.one_of(json_values.map(json.dumps), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
    def check(text):
        path.write_text(text, encoding="latin-1")
        before = _state(p)
        try:
            import_coco(p, path, images_root=tmp_path)
        except FormatError:
            assert _state(p) == before

    check()
