"""COCO-17 files from other tools into a PennAction project: video matching, nose -> head, the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rpan_core.add import add_videos
from rpan_core.cli import main
from rpan_core.errors import FormatError
from rpan_core.formats.coco import import_coco_report
from rpan_core.project import Project
from rpan_core.skeleton import COCO, PENNACTION
from tests.core.test_add import write_video

W, H = 32, 24


def coco17(videos: dict[str, int], *, eyes: bool = False, flat: bool = False, seed: int = 0) -> tuple[dict, dict]:
    """A COCO-17 file shaped like an external estimator's output: one person per frame, eyes/ears empty
    (unless ``eyes``), ``video_name``/``frame_index`` on each image (or only a flat file name).

    Returns the document and the truth {(video, frame): 17 x 3 keypoints}.
    """
    rng = np.random.default_rng(seed)
    images, anns, truth = [], [], {}
    for vname, n in videos.items():
        for f in range(n):
            iid = len(images) + 1
            im = {"id": iid, "width": W, "height": H}
            if flat:
                im["file_name"] = f"{vname}_{f:06d}.jpg"
            else:
                im.update(file_name=f"{vname}/{f:06d}.jpg", frame_index=f, video_name=vname)
            images.append(im)
            kp = np.zeros((17, 3))
            kp[:, 0] = np.round(rng.uniform(0, W - 1, 17), 2)
            kp[:, 1] = np.round(rng.uniform(0, H - 1, 17), 2)
            kp[:, 2] = rng.choice([1, 2], 17)
            if not eyes:
                kp[1:5] = 0
            truth[(vname, f)] = kp
            anns.append({"id": iid, "image_id": iid, "category_id": 1, "iscrowd": 0,
                         "keypoints": [float(v) if k % 3 < 2 else int(v) for k, v in enumerate(kp.reshape(-1))],
                         "num_keypoints": int((kp[:, 2] > 0).sum())})
    doc = {"info": {"description": "made-up COCO-17 poses"}, "images": images, "annotations": anns,
           "categories": [{"id": 1, "name": "person", "keypoints": list(COCO.joints), "skeleton": [[1, 6]]}]}
    return doc, truth


@pytest.fixture()
def project(tmp_path) -> Path:
    vids = [write_video(tmp_path / f"{name}.avi", n=4, shade=80 * k, size=(W, H))
            for k, name in enumerate(["cam01", "cam02"])]
    add_videos(tmp_path / "proj", vids)
    return tmp_path / "proj"


def check_same(p: Project, vid: int, vname: str, truth: dict) -> None:
    la = p.video_labels(vid)
    assert la.frames.tolist() == [0, 1, 2, 3]
    for i, f in enumerate(la.frames):
        kp = truth[(vname, int(f))]
        for j, name in enumerate(PENNACTION.joints):
            src = kp[COCO.joints.index("nose" if name == "head" else name)]
            assert la.labeled[i, j] and la.visible[i, j] == (src[2] == 2)
            np.testing.assert_array_equal(la.xy[i, j], src[:2])


def test_coco17_nose_becomes_head_and_videos_match_by_name(project, tmp_path):
    doc, truth = coco17({"cam01": 4, "cam02": 4})
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(doc))
    with Project.open(project) as p:
        rep = import_coco_report(p, path)
        assert rep.videos == {"cam01": 1, "cam02": 2} and rep.images == 8 and rep.labels == 8 * 13
        assert rep.aliased == {"nose": "head"}
        # the eyes and ears are named in the file but hold nothing: reported, with zero points lost
        assert rep.unmapped == {"left_eye": 0, "right_eye": 0, "left_ear": 0, "right_ear": 0}
        check_same(p, 1, "cam01", truth)
        check_same(p, 2, "cam02", truth)
        assert p.frame_labels(1, 0)[0].source == "imported"


def test_unmapped_keypoints_are_counted_and_printed(project, tmp_path, capsys):
    doc, truth = coco17({"cam02": 4}, eyes=True, seed=3)
    path = tmp_path / "eyes.json"
    path.write_text(json.dumps(doc))
    dropped = {n: int(sum(truth[("cam02", f)][COCO.joints.index(n), 2] > 0 for f in range(4)))
               for n in ("left_eye", "right_eye", "left_ear", "right_ear")}
    assert all(c == 4 for c in dropped.values())
    assert main(["import", "--format", "coco", str(path), "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert "mapped keypoint 'nose' to the pennaction joint 'head'" in out
    assert ("not imported: 4 keypoints have no joint in the pennaction skeleton (16 labeled points): "
            "left_eye (4), right_eye (4), left_ear (4), right_ear (4)") in out
    assert "cam02 -> video 2" in out and "imported 1 videos (52 joint labels)" in out


def test_flat_file_names_and_a_file_of_our_own_keep_head(project, tmp_path):
    """``cam01_000002.jpg`` with no video_name/frame_index; an export of ours keeps its own head (no alias)."""
    from rpan_core.formats.coco import export_coco

    doc, truth = coco17({"cam01": 4}, flat=True, seed=5)
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(doc))
    with Project.open(project) as p:
        rep = import_coco_report(p, path)
        assert rep.videos == {"cam01": 1}
        check_same(p, 1, "cam01", truth)
        p.set_label(1, 0, 0, 1.5, 2.5, True, "manual")  # head differs from the nose now
        out = export_coco(p, tmp_path / "ours.json")
    with Project.open(project) as p:
        for f in p.labeled_frames(1):
            p.delete_frame_labels(1, f)
        rep = import_coco_report(p, out)
        assert rep.aliased == {} and "nose" in rep.unmapped and rep.unmapped["nose"] == 0
        assert p.frame_labels(1, 0)[0].x == 1.5


def test_unknown_video_name_is_refused_naming_the_project_videos(project, tmp_path):
    doc, _ = coco17({"cam09": 2})
    path = tmp_path / "other.json"
    path.write_text(json.dumps(doc))
    with Project.open(project) as p:
        with pytest.raises(FormatError, match=r"'cam09' match no video of the project \(its videos: cam01, cam02\)"):
            import_coco_report(p, path)
        assert p.label_count() == 0
