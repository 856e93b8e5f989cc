"""COCO keypoints JSON: export a project's labels, import them back.

COCO is what most pose tools read and write. One image per labeled video frame,
``file_name`` ``<video stem>/<frame:06d>.jpg`` plus our own fields ``video_id``,
``video_name``, ``frame_index``, ``action`` and ``split`` so the importer maps each
image back to its video frame. One annotation per person on the frame (category 1,
``person``) with ``keypoints`` as ``[x, y, v]`` triplets in 0-based pixels: v = 0
not labeled, 1 labeled but not visible, 2 visible; ``track_id`` the person's id in
its video and ``person_name`` its name; ``bbox`` ``[x, y, w, h]`` the person's
stored box on that frame, or else the extent of its labeled joints (then marked
``"box_from_joints": true`` so the importer does not store it as a drawn box).

Persons on import: annotations carrying ``track_id`` (or ``attributes.track_id``,
as CVAT writes it) keep that identity across frames: track ids from 1 are the
person ids, and a file whose ids start at 0 (or below) is shifted to start at 1
(the person then named ``track T``). Without track ids, the annotations of each
image become persons 1, 2, ... in file order (identities across frames are then
unknown: swap them in the studio). Either way every annotation is one person, so
the person count of each frame is the file's. ``iscrowd`` annotations (regions
of many people) are skipped.

Keypoints: the COCO-17 names first (joints the project's skeleton lacks are
written as v = 0), then every project joint COCO has no name for (PennAction's
``head``; JHMDB's ``neck``, ``belly``, ``head``) as extra keypoints, so nothing is
dropped and project -> COCO -> project gives the same labels. The category's
``skeleton`` lists 1-based keypoint pairs (COCO's convention).

Import maps keypoints to the project's joints by name, then by the skeleton's
aliases for the joints the file does not name (a COCO-17 file's ``nose`` becomes
PennAction's ``head``: BlazePose, OpenPose and most COCO tools give no head
point). Every keypoint that maps to no joint is counted, and the import report
(:class:`CocoReport`, printed by ``rpan import``) names each with the number of
labeled points it dropped, so nothing is lost without a word. An image names its
video through ``video_name`` (or the folder part of ``file_name``; or, for a flat
``<video>_<frame>.jpg``, the part before the frame number) and its frame through
``frame_index`` (or the number in the file name); the video is the project's
video with that stem, or the frame folder ``<images_root>/<video name>`` which is
then added; that folder must lie inside ``images_root`` (a ``video_name`` such as
``../../x`` or an absolute path is refused, so a file cannot add any folder on disk
to the project). A labeled joint without a position (stored as such in the project)
is written as ``0, 0, 1`` and read back the same way.

Untrusted input: a keypoint whose x or y is NaN is not labeled; one outside its
frame by more than a frame's width or height is refused with the annotation named;
two images naming the same frame of a video are refused (its persons belong on
one image: silently keeping the last would drop labels). The file is parsed in one pass that
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
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from rpan_core.atomic import remove_orphans_of, write_text
from rpan_core.errors import FormatError
from rpan_core.formats import guard_project_errors
from rpan_core.skeleton import COCO, get_skeleton, joint_aliases


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
    """Write the labeled frames of the project as COCO keypoints JSON (one annotation per person
    and frame, boxes included); returns the path."""
    skel = project.skeleton
    names = keypoint_names(skel)
    pos = [names.index(n) for n in skel.joints]
    images, anns = [], []
    for r in project.videos():
        if video_ids is not None and r.id not in video_ids:
            continue
        stem = Path(r.path).stem
        people = [(q, project.video_labels(r.id, person=q.id), project.box_keyframes(r.id, person=q.id))
                  for q in project.persons(r.id)]
        frames = sorted({int(f) for _, la, bx in people for f in (*la.frames.tolist(), *bx.frames.tolist())})
        for f in frames:
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": f"{stem}/{f:06d}.jpg", "width": r.width, "height": r.height,
                           "video_id": r.id, "video_name": stem, "frame_index": f, "action": r.action,
                           "split": r.split})
            for q, la, bx in people:
                ann = _annotation(la, bx, f, skel.num_joints, pos, len(names))
                if ann is not None:
                    ann.update(id=len(anns) + 1, image_id=image_id, track_id=q.id, person_name=q.name)
                    anns.append(ann)
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


def _annotation(la: Any, bx: Any, f: int, J: int, pos: list[int], K: int) -> dict | None:
    """One person's annotation on frame ``f`` (None when it has neither a label nor a box there)."""
    li = int(np.searchsorted(la.frames, f))
    has_labels = li < len(la.frames) and la.frames[li] == f
    bi = int(np.searchsorted(bx.frames, f))
    box = bx.boxes[bi] if bi < len(bx.frames) and bx.frames[bi] == f else None
    if not has_labels and box is None:
        return None
    kp = np.zeros((K, 3))
    if has_labels:
        for j in range(J):
            if not la.labeled[li, j]:
                continue
            x, y = la.xy[li, j]
            if not (math.isfinite(x) and math.isfinite(y)):
                kp[pos[j]] = (0, 0, 1)
            else:
                kp[pos[j]] = (x, y, 2 if la.visible[li, j] else 1)
    ann: dict[str, Any] = {"category_id": 1, "iscrowd": 0}
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        bbox = [x0, y0, x1 - x0, y1 - y0]
    else:
        have = (kp[:, 2] > 0) & ~((kp[:, 0] == 0) & (kp[:, 1] == 0) & (kp[:, 2] == 1))
        if have.any():
            lo, hi = kp[have, :2].min(axis=0), kp[have, :2].max(axis=0)
            bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
        else:
            bbox = [0.0, 0.0, 0.0, 0.0]
        ann["box_from_joints"] = True
    ann.update(keypoints=[float(v) if k % 3 < 2 else int(v) for k, v in enumerate(kp.reshape(-1))],
               num_keypoints=int((kp[:, 2] > 0).sum()), bbox=bbox, area=bbox[2] * bbox[3])
    return ann


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
_ANN_KEYS = ("image_id", "category_id", "keypoints", "bbox", "iscrowd", "track_id", "attributes", "person_name",
             "box_from_joints")


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


def category_mapping(names: list[str], skeleton: Any) -> tuple[list[int | None], dict[str, str]]:
    """Project joint index (or None) for each keypoint name, and the names mapped by alias.

    Exact names win; an alias (``nose`` -> ``head``) is used only for a joint the
    names do not include, so a file that has both keeps its own ``head``.
    """
    skel = get_skeleton(skeleton)
    aliases = joint_aliases(skel)
    mapping: list[int | None] = [skel.joints.index(n) if n in skel.joints else None for n in names]
    aliased: dict[str, str] = {}
    for k, n in enumerate(names):
        target = aliases.get(n)
        if mapping[k] is None and target is not None and target not in names and target not in aliased.values():
            mapping[k] = skel.joints.index(target)
            aliased[n] = target
    return mapping, aliased


_FLAT_NAME = re.compile(r"^(?P<video>.+?)[_\-. ]+(?P<frame>\d+)$")


def read_coco(path: str | os.PathLike, skeleton: Any, report: dict | None = None) -> list[dict]:
    """Parse and check a COCO keypoints file against ``skeleton``.

    Returns one dict per annotated image: ``video_name``, ``frame``, ``action``,
    ``split``, ``persons`` = one dict per annotation: ``track`` (its track id or None),
    ``name`` (``person_name`` or None), ``labels`` = {joint: (x, y, visible)} in project
    joint indices, ``box`` = ``[x0, y0, x1, y1]`` or None.
    ``report`` (a dict), when given, receives ``aliased`` ({file keypoint: joint}
    mapped by alias) and ``unmapped`` ({file keypoint: labeled points dropped}).
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
        mapping, aliased = category_mapping(kn, skel)
        if report is not None:
            report.setdefault("aliased", {}).update(aliased)
            unmapped = report.setdefault("unmapped", {})
            for n, m in zip(kn, mapping):
                if m is None:
                    unmapped.setdefault(n, 0)
        if all(m is None for m in mapping):
            raise _err(path, f"categories[{c}] field 'keypoints'",
                       f"names no joint of the project's {skel.name} skeleton ({', '.join(skel.joints)})")
        cats[cid] = (mapping, kn)
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
            flat = _FLAT_NAME.match(Path(fn).stem)
            if not parent and flat is None:
                raise _err(path, f"images[{i}] field 'file_name'", f"({fn!r}) has no video folder part and the "
                           "image no 'video_name'; frames must be named '<video>/<frame>.jpg' or "
                           "'<video>_<frame>.jpg'")
            vname = parent or flat.group("video")
        if not isinstance(vname, str) or not vname or any(ord(ch) < 32 for ch in vname):
            raise _err(path, f"images[{i}] field 'video_name'", "must be a non-empty one-line name")
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
            raise _err(path, f"images[{i}]", f"is frame {frame} of video {vname!r} like images[{other}] (one image "
                       "per frame: put all its persons' annotations on one image, or remove one)")
        images[iid] = {"video_name": vname, "frame": frame, "action": action, "split": split, "persons": [],
                       "size": (im["width"], im["height"])}
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
        mapping, kn = cats[cid]
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
        if bbox is not None and (bbox[2] < 0 or bbox[3] < 0):
            raise _err(path, f"{where} field 'bbox'", f"has a negative width or height ({bbox}); it is [x, y, w, h]")
        if ann.get("iscrowd") in (1, True):
            continue  # a crowd region, not one person
        track = _track_id(path, ann, where)
        name = ann.get("person_name")
        if name is not None and (not isinstance(name, str) or not name.strip() or "\n" in name):
            raise _err(path, f"{where} field 'person_name'", "must be a one-line name")
        persons = images[iid]["persons"]
        if track is not None and any(q["track"] == track for q in persons):
            raise _err(path, f"{where} field 'track_id'", f"{track} is given twice on image {iid}; each person of "
                       "a frame needs its own track id")
        box = None
        if bbox is not None and bbox[2] > 0 and bbox[3] > 0 and not ann.get("box_from_joints"):
            box = [float(bbox[0]), float(bbox[1]), float(bbox[0] + bbox[2]), float(bbox[1] + bbox[3])]
        labels = JointLabels(skel.num_joints)
        persons.append({"track": track, "name": name, "labels": labels, "box": box})
        W, H = images[iid]["size"]
        kpl = kp.tolist()
        for k, j in enumerate(mapping):
            x, y, v = kpl[3 * k: 3 * k + 3]
            if v not in (0, 1, 2):
                raise _err(path, f"{where} field 'keypoints'", f"visibility of keypoint {k + 1} is {v:g}; use 0, 1 "
                           "or 2")
            if v != 0 and j is None and report is not None:
                report["unmapped"][kn[k]] += 1
            if v == 0 or math.isnan(x) or math.isnan(y):  # NaN: not labeled
                continue
            if not (-W <= x <= 2 * W and -H <= y <= 2 * H):  # every keypoint, mapped or not
                raise _err(path, f"{where} keypoint {k + 1}", f"at ({x:g}, {y:g}) lies outside its {W}x{H} image by "
                           "more than the image's size")
            if j is None:
                continue
            if j in labels:
                raise _err(path, f"{where} field 'keypoints'", f"gives joint {skel.joints[j]!r} twice (two "
                           "keypoint names map to it)")
            if v == 1 and x == 0 and y == 0:
                labels.put(j, None, None, False, a)
            else:
                labels.put(j, x, y, v == 2, a)
    return list(images.values())


@dataclass
class CocoReport:
    """What one COCO import did, for the command line and the studio to show."""

    path: Path
    skeleton: str
    video_ids: list[int] = field(default_factory=list)
    videos: dict[str, int] = field(default_factory=dict)  # video name in the file -> project video id
    images: int = 0
    labels: int = 0
    aliased: dict[str, str] = field(default_factory=dict)   # file keypoint -> project joint (by alias)
    unmapped: dict[str, int] = field(default_factory=dict)  # file keypoint -> labeled points not imported

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [f"imported {self.labels} joint labels on {self.images} frames of {len(self.video_ids)} videos "
               f"from {self.path.name}"]
        for name, vid in self.videos.items():
            out.append(f"  {name} -> video {vid}")
        for name, joint in self.aliased.items():
            out.append(f"mapped keypoint {name!r} to the {self.skeleton} joint {joint!r}")
        if self.unmapped:
            dropped = sum(self.unmapped.values())
            out.append(f"not imported: {len(self.unmapped)} keypoints have no joint in the {self.skeleton} skeleton "
                       f"({dropped} labeled points): " + ", ".join(f"{n} ({c})" for n, c in self.unmapped.items()))
        return out


def _track_id(path: Path, ann: dict, where: str) -> int | None:
    """The annotation's ``track_id`` (top level, or in ``attributes`` as CVAT writes it), or None."""
    attrs = ann.get("attributes")
    tid = ann.get("track_id", attrs.get("track_id") if isinstance(attrs, dict) else None)
    if tid is None:
        return None
    if not isinstance(tid, int) or isinstance(tid, bool) or abs(tid) > 2**62:
        raise _err(path, f"{where} field 'track_id'", f"must be a whole number, got {tid!r}"[:200])
    return tid


def _person_ids(path: Path, vname: str, es: list[dict]) -> list[list[tuple[int, str | None]]]:
    """Per image of one video, the (person id, name) of each of its annotations (see the module doc)."""
    tracked = [q["track"] is not None for e in es for q in e["persons"]]
    if any(tracked) and not all(tracked):
        raise FormatError(f"{path}: video {vname!r} has annotations with and without 'track_id'; give every "
                          "annotation of a video a track id, or none; fix the file and import again")
    if not any(tracked):
        return [[(k + 1, q["name"]) for k, q in enumerate(e["persons"])] for e in es]
    low = min(q["track"] for e in es for q in e["persons"])
    shift = 1 - low if low < 1 else 0
    return [[(q["track"] + shift, q["name"] or (f"track {q['track']}" if shift else None)) for q in e["persons"]]
            for e in es]


def _import_persons(project: Any, vid: int, es: list[dict], pids: list[list[tuple[int, str | None]]]) -> None:
    """Write each annotation's joints and box as its person's (persons added or renamed as the file says)."""
    rows: dict[int, list[tuple]] = defaultdict(list)
    boxes: dict[int, list[tuple]] = defaultdict(list)
    names: dict[int, str | None] = {}
    for e, ids in zip(es, pids):
        for q, (pid, name) in zip(e["persons"], ids):
            names[pid] = names.get(pid) or name
            rows[pid] += [(e["frame"], j, x, y, vis, "imported") for j, (x, y, vis) in q["labels"].items()]
            if q["box"] is not None:
                boxes[pid].append((e["frame"], *q["box"], "imported"))
    have = {q.id: q.name for q in project.persons(vid)}
    for pid in sorted(names):
        if pid not in have:
            project.add_person(vid, names[pid], person_id=pid)
        elif names[pid] and names[pid] != have[pid]:
            project.rename_person(vid, pid, names[pid])
        if rows[pid]:
            project.set_labels(vid, rows[pid], person=pid)
        if boxes[pid]:
            project.set_boxes(vid, boxes[pid], person=pid)


def import_coco(project: Any, json_path: str | os.PathLike, *, images_root: str | os.PathLike | None = None) -> list[int]:
    """Import COCO keypoints into the project; returns the ids of the videos that got labels.

    See :func:`import_coco_report` (the same import, returning the full report).
    """
    return import_coco_report(project, json_path, images_root=images_root).video_ids


def _match_video(vname: str, known: dict[str, Any]) -> Any:
    """The project video a file's video name means: same stem, or the name's own stem (``cam01.mp4``)."""
    return known.get(vname) or known.get(Path(vname).stem)


def import_coco_report(project: Any, json_path: str | os.PathLike, *,
                       images_root: str | os.PathLike | None = None) -> CocoReport:
    """Import COCO keypoints into the project; returns a :class:`CocoReport`.

    Each image's video is the project's video of the same name (file stem), or the
    frame folder ``images_root/<video name>``, added as a new video. Actions and
    splits given on the images are applied. One transaction for the whole file.
    Keypoints with no joint in the project's skeleton are counted in the report.
    """
    from rpan_core.video import open_video

    path = Path(json_path)
    stats: dict = {}
    entries = read_coco(path, project.skeleton, report=stats)
    report = CocoReport(path, project.skeleton.name, aliased=dict(stats.get("aliased", {})),
                        unmapped=dict(stats.get("unmapped", {})))
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
        rec = _match_video(vname, known)
        if rec is None:
            folder = root / vname
            if os.path.isabs(vname) or not is_inside(folder, root):
                raise FormatError(f"{path}: video_name {vname!r} points outside {root}; an imported video must be a "
                                  "frame folder inside images_root (add other videos to the project first)")
            if not folder.is_dir():
                have = ", ".join(sorted(known)) or "none yet"
                raise FormatError(f"{path}: images of video {vname!r} match no video of the project (its videos: "
                                  f"{have}) and there is no frame folder {folder}; add the video first "
                                  f"(rpan add --project {project.folder} VIDEO) or pass images_root")
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
            for q in e["persons"]:  # against the real frames, not the file's claim
                for j, (x, y, _vis) in q["labels"].items():
                    if x is not None and not (-W <= x <= 2 * W and -H <= y <= 2 * H):
                        raise FormatError(f"{path}: {q['labels'].where(j)} ({vname!r} frame {e['frame']}) puts "
                                          f"{project.skeleton.joints[j]} at ({x:g}, {y:g}), outside the video's "
                                          f"{W}x{H} frames by more than a frame; fix the file and import again")
        plan.append((vname, rec, es, _person_ids(path, vname, es)))
    ids = []
    with project.transaction():
        actions = sorted({e["action"] for e in entries if e["action"]})
        project.add_classes(actions)
        for vname, rec, es, pids in plan:
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
                _import_persons(project, vid, es, pids)
                report.labels += sum(len(q["labels"]) for e in es for q in e["persons"])
                report.images += sum(1 for e in es if any(q["labels"] for q in e["persons"]))
            ids.append(vid)
            report.videos[vname] = vid
    report.video_ids = ids
    return report
