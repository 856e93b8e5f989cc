"""COCO keypoints JSON: export a project's labels, import them back.

COCO is what most pose tools read and write. One image per labeled video frame,
``file_name`` ``<video stem>/<frame:06d>.jpg`` plus our own fields ``video_id``,
``video_name``, ``frame_index``, ``action`` and ``split`` so the importer maps each
image back to its video frame. One annotation per image (category 1, ``person``)
with ``keypoints`` as ``[x, y, v]`` triplets in 0-based pixels: v = 0 not labeled,
1 labeled but not visible, 2 visible; ``bbox`` ``[x, y, w, h]`` around the labeled
joints.

Keypoints: the COCO-17 names first (joints the project's skeleton lacks are
written as v = 0), then every project joint COCO has no name for (PennAction's
``head``; JHMDB's ``neck``, ``belly``, ``head``) as extra keypoints, so nothing is
dropped and project -> COCO -> project gives the same labels. The category's
``skeleton`` lists 1-based keypoint pairs (COCO's convention).

Import maps keypoints to the project's joints by name. An image names its video
through ``video_name`` (or the folder part of ``file_name``) and its frame through
``frame_index`` (or the number in the file name); the video is the project's
video with that stem, or the frame folder ``<images_root>/<video name>`` which is
then added; that folder must lie inside ``images_root`` (a ``video_name`` such as
``../../x`` or an absolute path is refused, so a file cannot add any folder on disk
to the project). A labeled joint without a position (stored as such in the project)
is written as ``0, 0, 1`` and read back the same way.

Untrusted input: a keypoint whose x or y is NaN is not labeled; one outside its
frame by more than a frame's width or height is refused with the annotation named;
two images naming the same frame of a video are refused (one person per frame:
silently keeping the last would drop labels). The file is parsed in one pass that
keeps only the fields the importer uses and turns each keypoint list into a
compact array as soon as it is read (peak memory about 2x the file, was 10x), and
nesting too deep for the parser is a FormatError, not a RecursionError.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from rpan_core.atomic import remove_orphans_of, write_text
from rpan_core.errors import FormatError
from rpan_core.formats import guard_project_errors
from rpan_core.skeleton import COCO, get_skeleton


def keypoint_names(skeleton: Any) -> list[str]:
    """COCO-17 names, then the skeleton's joints COCO has no name for."""
    skel = get_skeleton(skeleton)
    return list(COCO.joints) + [n for n in skel.joints if n not in COCO.joints]


def _edges(skel: Any, names: list[str]) -> list[list[int]]:
    out = [[a + 1, b + 1] for a, b in COCO.edges]
    for a, b in skel.edges:
        pa, pb = names.index(skel.joints[a]) + 1, names.index(skel.joints[b]) + 1
        if [pa, pb] not in out and [pb, pa] not in out:
            out.append([pa, pb])
    return out


def export_coco(project: Any, out_path: str | os.PathLike, *, video_ids: list[int] | None = None) -> Path:
    """Write the labeled frames of the project as COCO keypoints JSON; returns the path."""
    skel = project.skeleton
    names = keypoint_names(skel)
    pos = [names.index(n) for n in skel.joints]
    images, anns = [], []
    for r in project.videos():
        if video_ids is not None and r.id not in video_ids:
            continue
        stem = Path(r.path).stem
        la = project.video_labels(r.id)
        for i, f in enumerate(la.frames.tolist()):
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": f"{stem}/{f:06d}.jpg", "width": r.width, "height": r.height,
                           "video_id": r.id, "video_name": stem, "frame_index": f, "action": r.action,
                           "split": r.split})
            kp = np.zeros((len(names), 3))
            for j in range(skel.num_joints):
                if not la.labeled[i, j]:
                    continue
                x, y = la.xy[i, j]
                if not (math.isfinite(x) and math.isfinite(y)):
                    kp[pos[j]] = (0, 0, 1)
                else:
                    kp[pos[j]] = (x, y, 2 if la.visible[i, j] else 1)
            have = (kp[:, 2] > 0) & ~((kp[:, 0] == 0) & (kp[:, 1] == 0) & (kp[:, 2] == 1))
            if have.any():
                lo, hi = kp[have, :2].min(axis=0), kp[have, :2].max(axis=0)
                bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
            else:
                bbox = [0.0, 0.0, 0.0, 0.0]
            anns.append({"id": image_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                         "keypoints": [float(v) if k % 3 < 2 else int(v) for k, v in enumerate(kp.reshape(-1))],
                         "num_keypoints": int((kp[:, 2] > 0).sum()), "bbox": bbox, "area": bbox[2] * bbox[3]})
    doc = {
        "info": {"description": f"RPAN Studio project {Path(project.folder).name}", "skeleton": skel.name},
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names,
                        "skeleton": _edges(skel, names)}],
    }
    out = Path(out_path)
    try:
        remove_orphans_of(out)  # temp files of exports killed earlier
        write_text(out, json.dumps(doc))
    except OSError as exc:
        raise FormatError(f"cannot write {out}: {exc.strerror or exc}; free some disk space or choose another "
                          "folder (an older export there is unchanged)") from exc
    return out


# ------------------------------------------------------------------ import

def _err(path: Path, where: str, what: str) -> FormatError:
    return FormatError(f"{path}: {where} {what}; fix the file and import again")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_field(path: Path, obj: Any, key: str, where: str) -> int:
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, int) or isinstance(v, bool):
        raise _err(path, f"{where} field '{key}'", "is missing or not a whole number")
    return v


class JointLabels(Mapping):
    """One image's labels, ``joint -> (x, y, visible)`` (x, y None: labeled without a position).

    Held as one small array instead of a dict of tuples of floats: a big file has
    hundreds of thousands of images, and the dict form took ~3 kB each.
    ``where(j)`` is the index of the annotation that labeled joint ``j``.
    """

    __slots__ = ("_a",)

    def __init__(self, num_joints: int) -> None:
        self._a = np.zeros((num_joints, 5))  # x, y, visible, present, annotation index

    def put(self, j: int, x: float | None, y: float | None, visible: bool, annotation: int) -> None:
        self._a[j] = (math.nan if x is None else x, math.nan if y is None else y, bool(visible), 1.0, annotation)

    def __getitem__(self, j: int) -> tuple:
        if not 0 <= j < len(self._a) or not self._a[j, 3]:
            raise KeyError(j)
        x, y, v = (float(t) for t in self._a[j, :3])
        return (None if math.isnan(x) else x, None if math.isnan(y) else y, bool(v))

    def __contains__(self, j: object) -> bool:
        return isinstance(j, int) and 0 <= j < len(self._a) and bool(self._a[j, 3])

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self._a[:, 3]).tolist())

    def __len__(self) -> int:
        return int(np.count_nonzero(self._a[:, 3]))

    def where(self, j: int) -> str:
        return f"annotations[{int(self._a[j, 4])}]"


_IMAGE_KEYS = ("id", "file_name", "width", "height", "video_name", "frame_index", "action", "split")
_ANN_KEYS = ("image_id", "category_id", "keypoints", "bbox")


def _compact(d: dict) -> dict:
    """json object_hook: keep only what the importer reads of images and annotations; keypoints as float64.

    Called for every object as soon as it is parsed, so a big file never holds its
    segmentation polygons, URLs or per-number Python floats all at once.
    """
    if "keypoints" in d and "image_id" in d:
        out = {k: d[k] for k in _ANN_KEYS if k in d}
        kp = out["keypoints"]
        if isinstance(kp, list) and all(type(v) in (int, float) for v in kp):
            out["keypoints"] = np.asarray(kp, dtype=np.float64)
        return out
    if "file_name" in d and "id" in d and "images" not in d:
        return {k: d[k] for k in _IMAGE_KEYS if k in d}
    return d


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh, object_hook=_compact)
    except RecursionError:
        raise FormatError(f"{path}: the JSON is nested too deeply to be a COCO file; fix the file and "
                          "import again") from None
    except MemoryError:
        raise FormatError(f"{path}: the file is too big to read into memory; split it and import the "
                          "parts") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise FormatError(f"{path}: not a readable JSON file ({msg}); fix the file and import again") from None


def read_coco(path: str | os.PathLike, skeleton: Any) -> list[dict]:
    """Parse and check a COCO keypoints file against ``skeleton``.

    Returns one dict per annotated image: ``video_name``, ``frame``, ``action``,
    ``split``, ``labels`` = list of (joint, x, y, visible) in project joint indices.
    """
    path = Path(path)
    skel = get_skeleton(skeleton)
    doc = _load_json(path)
    if not isinstance(doc, dict):
        raise _err(path, "the top level", "must be an object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise _err(path, f"field '{key}'", "is missing or not a list")
    cats: dict[int, list[int | None]] = {}
    for c, cat in enumerate(doc["categories"]):
        cid = _int_field(path, cat, "id", f"categories[{c}]")
        kn = cat.get("keypoints")
        if not isinstance(kn, list) or not all(isinstance(n, str) for n in kn) or not kn:
            raise _err(path, f"categories[{c}] field 'keypoints'", "must be a list of joint names")
        mapping = [skel.joints.index(n) if n in skel.joints else None for n in kn]
        if all(m is None for m in mapping):
            raise _err(path, f"categories[{c}] field 'keypoints'",
                       f"names no joint of the project's {skel.name} skeleton ({', '.join(skel.joints)})")
        cats[cid] = mapping
    images: dict[int, dict] = {}
    seen_frames: dict[tuple[str, int], int] = {}
    for i, im in enumerate(doc["images"]):
        iid = _int_field(path, im, "id", f"images[{i}]")
        fn = im.get("file_name")
        if not isinstance(fn, str) or not fn:
            raise _err(path, f"images[{i}] field 'file_name'", "is missing or empty")
        for key in ("width", "height"):
            if _int_field(path, im, key, f"images[{i}]") < 1:
                raise _err(path, f"images[{i}] field '{key}'", "must be at least 1")
        vname = im.get("video_name")
        if vname is None:
            parent = Path(fn).parent.name
            if not parent:
                raise _err(path, f"images[{i}] field 'file_name'", f"({fn!r}) has no video folder part and the "
                           "image no 'video_name'; frames must be named '<video>/<frame>.jpg'")
            vname = parent
        if not isinstance(vname, str) or not vname:
            raise _err(path, f"images[{i}] field 'video_name'", "must be a non-empty string")
        frame = im.get("frame_index")
        if frame is None:
            m = re.search(r"(\d+)$", Path(fn).stem)
            if m is None:
                raise _err(path, f"images[{i}] field 'frame_index'", "is missing and the file name has no frame number")
            frame = int(m.group(1))
        if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
            raise _err(path, f"images[{i}] field 'frame_index'", "must be a whole number >= 0")
        action = im.get("action")
        if action is not None and (not isinstance(action, str) or not action.strip()):
            raise _err(path, f"images[{i}] field 'action'", "must be a class name or null")
        split = im.get("split")
        if split is not None and (not isinstance(split, str) or not split.strip()):
            raise _err(path, f"images[{i}] field 'split'", "must be a split name such as train or test")
        if iid in images:
            raise _err(path, f"images[{i}] field 'id'", f"{iid} is used twice")
        other = seen_frames.setdefault((vname, frame), i)
        if other != i:
            raise _err(path, f"images[{i}]", f"is frame {frame} of video {vname!r} like images[{other}] (one "
                       "person per frame: merge their keypoints into one image or remove one)")
        images[iid] = {"video_name": vname, "frame": frame, "action": action, "split": split,
                       "labels": JointLabels(skel.num_joints), "size": (im["width"], im["height"])}
    doc["images"] = None  # parsed: let it go before the annotations add their labels
    anns = doc["annotations"]
    for a, ann in enumerate(anns):
        anns[a] = None  # each annotation goes as soon as it is read (a big file's peak memory)
        where = f"annotations[{a}]"
        iid = _int_field(path, ann, "image_id", where)
        if iid not in images:
            raise _err(path, f"{where} field 'image_id'", f"{iid} is not an image of the file")
        cid = _int_field(path, ann, "category_id", where)
        if cid not in cats:
            raise _err(path, f"{where} field 'category_id'", f"{cid} is not a category with keypoints")
        kp = ann.get("keypoints")
        mapping = cats[cid]
        if not isinstance(kp, (list, np.ndarray)) or len(kp) != 3 * len(mapping):
            n = len(kp) if isinstance(kp, (list, np.ndarray)) else "no list"
            raise _err(path, f"{where} field 'keypoints'", f"has {n} numbers; the category's {len(mapping)} "
                       f"keypoints need {3 * len(mapping)} (x, y, v per keypoint)")
        if not isinstance(kp, np.ndarray):
            raise _err(path, f"{where} field 'keypoints'", "must hold only numbers")
        if not np.isfinite(kp[2::3]).all():
            raise _err(path, f"{where} field 'keypoints'", "has a visibility that is not 0, 1 or 2")
        bbox = ann.get("bbox")
        if bbox is not None and (not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_num(v) for v in bbox)):
            raise _err(path, f"{where} field 'bbox'", "must be [x, y, w, h]")
        labels = images[iid]["labels"]
        W, H = images[iid]["size"]
        kpl = kp.tolist()
        for k, j in enumerate(mapping):
            x, y, v = kpl[3 * k: 3 * k + 3]
            if v not in (0, 1, 2):
                raise _err(path, f"{where} field 'keypoints'", f"visibility of keypoint {k + 1} is {v:g}; use 0, 1 "
                           "or 2")
            if v == 0 or math.isnan(x) or math.isnan(y):  # NaN: not labeled
                continue
            if not (-W <= x <= 2 * W and -H <= y <= 2 * H):  # every keypoint, mapped or not
                raise _err(path, f"{where} keypoint {k + 1}", f"at ({x:g}, {y:g}) lies outside its {W}x{H} image by "
                           "more than the image's size")
            if j is None:
                continue
            if j in labels:
                raise _err(path, f"{where}", f"labels joint {skel.joints[j]!r} of image {iid} twice (one person "
                           "per frame)")
            if v == 1 and x == 0 and y == 0:
                labels.put(j, None, None, False, a)
            else:
                labels.put(j, x, y, v == 2, a)
    return list(images.values())


def import_coco(project: Any, json_path: str | os.PathLike, *, images_root: str | os.PathLike | None = None) -> list[int]:
    """Import COCO keypoints into the project; returns the ids of the videos that got labels.

    Each image's video is the project's video of the same name (file stem), or the
    frame folder ``images_root/<video name>``, added as a new video. Actions and
    splits given on the images are applied. One transaction for the whole file.
    """
    from rpan_core.video import open_video

    path = Path(json_path)
    entries = read_coco(path, project.skeleton)
    by_video: dict[str, list[dict]] = defaultdict(list)
    for e in entries:
        by_video[e["video_name"]].append(e)
    known: dict[str, Any] = {}
    for r in project.videos():
        known.setdefault(Path(r.path).stem, r)
    root = Path(images_root) if images_root is not None else path.parent
    plan = []
    from rpan_core.links import is_inside

    for vname, es in by_video.items():
        rec = known.get(vname)
        if rec is None:
            folder = root / vname
            if os.path.isabs(vname) or not is_inside(folder, root):
                raise FormatError(f"{path}: video_name {vname!r} points outside {root}; an imported video must be a "
                                  "frame folder inside images_root (add other videos to the project first)")
            if not folder.is_dir():
                raise FormatError(f"{path}: images of video {vname!r} match no video of the project and there is no "
                                  f"frame folder {folder}; add the video first or pass images_root")
            try:
                with open_video(folder, cache_mb=1) as v:
                    n, W, H = v.frame_count, v.width, v.height
            except Exception as exc:  # noqa: BLE001 - VideoError or a broken image
                raise FormatError(f"{path}: the frames of video {vname!r} cannot be read ({exc})") from exc
        else:
            n, W, H = rec.frame_count, rec.width, rec.height
        for e in es:
            if e["frame"] >= n:
                raise FormatError(f"{path}: field 'frame_index' {e['frame']} of video {vname!r} is past its "
                                  f"{n} frames")
            for j, (x, y, _vis) in e["labels"].items():  # against the real frames, not the file's claim
                if x is not None and not (-W <= x <= 2 * W and -H <= y <= 2 * H):
                    raise FormatError(f"{path}: {e['labels'].where(j)} ({vname!r} frame {e['frame']}) puts "
                                      f"{project.skeleton.joints[j]} at ({x:g}, {y:g}), outside the video's {W}x{H} "
                                      "frames by more than a frame; fix the file and import again")
        plan.append((vname, rec, es))
    ids = []
    with project.transaction():
        actions = sorted({e["action"] for e in entries if e["action"]})
        project.add_classes(actions)
        for vname, rec, es in plan:
            with guard_project_errors(path):
                first = es[0]
                if rec is None:
                    vid = project.add_video(root / vname, action=first["action"], split=first["split"] or "train")
                else:
                    vid = rec.id
                    if first["action"] is not None:
                        project.set_action(vid, first["action"])
                    if first["split"] is not None:
                        project.set_split(vid, first["split"])
                rows = [(e["frame"], j, x, y, vis, "imported") for e in es for j, (x, y, vis) in e["labels"].items()]
                project.set_labels(vid, rows)
            ids.append(vid)
    return ids
