"""Fuzz every importer and the video opener: only the project's own errors escape (issue 10).

Hypothesis feeds each reader random and mutated input: COCO JSON (arbitrary
documents, mutations of a valid one, raw bytes, deep nesting), PennAction and
JHMDB ``.mat`` files (random fields, shapes, dtypes, NaN / inf / huge values,
corrupt bytes, split files), and ``open_video`` on random bytes, damaged and
truncated videos and frame folders with broken images. The only exception that
may escape is an :class:`~rpan_core.errors.RPANError` subclass whose message is
one line; a refused import leaves the project unchanged. Anything else is a
traceback and fails the test.

Size: the default profile runs a few dozen cases per target (seconds, for CI).
``make fuzz`` runs the ``fuzz`` profile: ``RPAN_FUZZ_EXAMPLES`` cases per target
(default 3000), randomized, and with ``RPAN_FUZZ_STATS=path`` writes the number of
cases run per target as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpan_core.errors import RPANError
from rpan_core.project import Project

_common = dict(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile("rpan-ci", max_examples=25, derandomize=True, **_common)
settings.register_profile("rpan-fuzz", max_examples=int(os.environ.get("RPAN_FUZZ_EXAMPLES", "3000")),
                          derandomize=False, **_common)
PROFILE = "rpan-fuzz" if os.environ.get("RPAN_FUZZ") else "rpan-ci"
CASES: Counter = Counter()
T = 3


def fuzz(fn):
    """The profile's settings for one fuzz target."""
    return settings(settings.get_profile(PROFILE))(fn)


@pytest.fixture(scope="module", autouse=True)
def _stats():
    yield
    out = os.environ.get("RPAN_FUZZ_STATS")
    if out:
        old = json.loads(Path(out).read_text()) if Path(out).is_file() else {}
        for k, v in CASES.items():
            old[k] = old.get(k, 0) + v
        Path(out).write_text(json.dumps(old, indent=1, sort_keys=True))


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RPAN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))


def _one_line(exc: RPANError) -> None:
    msg = str(exc)
    assert msg.strip() and "\n" not in msg and "Traceback" not in msg, repr(msg)


def _state(p: Project) -> tuple:
    return [(v.id, v.path, v.action, v.split) for v in p.videos()], p.classes, p.label_count()


def _expect_clean(p: Project, fn) -> None:
    """Run an import: success, or an RPANError with one line that left the project as it was."""
    before = _state(p)
    try:
        fn()
    except RPANError as exc:
        _one_line(exc)
        assert _state(p) == before


def _frames(folder: Path, n: int = T, size=(12, 16)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i + 1:06d}.jpg"), np.full((*size, 3), 30 * i, np.uint8))
    return folder


numbers = st.one_of(st.integers(-5, 40), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([-1e9, 1e308, 1e200, -0.0, 2**63, -2**63 - 1]))
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=6),
    lambda kids: st.lists(kids, max_size=6) | st.dictionaries(
        st.sampled_from(["images", "annotations", "categories", "id", "keypoints", "file_name", "image_id",
                         "category_id", "width", "height", "video_name", "frame_index", "action", "split", "bbox",
                         "name", "skeleton"]) | st.text(max_size=4), kids, max_size=6),
    max_leaves=40)


# ------------------------------------------------------------------ COCO

def _coco_valid(n: int = T) -> dict:
    from rpan_core.formats.coco import keypoint_names

    names = keypoint_names("pennaction")
    kp = []
    for k in range(len(names)):
        kp += [float(k % 16), float(k % 12), 2]
    return {"images": [{"id": i + 1, "file_name": f"vid/{i:06d}.jpg", "width": 16, "height": 12, "frame_index": i,
                        "video_name": "vid"} for i in range(n)],
            "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "keypoints": list(kp)}
                            for i in range(n)],
            "categories": [{"id": 1, "name": "person", "keypoints": names, "skeleton": [[1, 2]]}]}


@st.composite
def coco_mutated(draw) -> str:
    """A valid document with a few random values replaced anywhere in it."""
    d = _coco_valid()
    for _ in range(draw(st.integers(1, 4))):
        top = draw(st.sampled_from(["images", "annotations", "categories"]))
        items = d[top]
        if not items:
            continue
        item = items[draw(st.integers(0, len(items) - 1))]
        key = draw(st.sampled_from(sorted(item) + ["video_name", "frame_index", "extra"]))
        if key == "keypoints" and top == "annotations" and draw(st.booleans()):
            kp = item["keypoints"]
            kp[draw(st.integers(0, len(kp) - 1))] = draw(numbers | st.text(max_size=3) | st.none())
        elif key == "video_name" and top == "images":
            item[key] = draw(st.sampled_from(["../../x", "/etc", "..", ".", "", "vid/../..", "a\x00b", "vid"]))
        else:
            item[key] = draw(json_values)
    if draw(st.booleans()):  # duplicates and cross references
        d["images"].append(dict(d["images"][0], id=draw(st.integers(0, 9))))
    return json.dumps(d)


coco_inputs = st.one_of(
    coco_mutated(),
    json_values.map(json.dumps),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5000).map(lambda n: '{"images":' * n + "1" + "}" * n),
)


def test_fuzz_coco(tmp_path):
    from rpan_core.formats.coco import import_coco

    p = Project.create(tmp_path / "proj", classes=["a"])
    root = tmp_path / "images"
    _frames(root / "vid")
    _frames(tmp_path / "x")  # what ../../x would reach: must never be added
    path = tmp_path / "fuzz.json"

    @fuzz
    @given(coco_inputs)
    def check(text):
        CASES["coco"] += 1
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        _expect_clean(p, lambda: import_coco(p, path, images_root=root))
        for v in p.videos():  # nothing outside images_root ever gets in
            assert Path(v.path).resolve().is_relative_to(root.resolve()), v.path

    check()


# ------------------------------------------------------------------ .mat arrays

def _array(draw, shape: tuple[int, ...]) -> object:
    kind = draw(st.sampled_from(["ok", "values", "shape", "dtype", "empty", "scalar", "text", "cell"]))
    a = np.full(shape, 5.0)
    if kind == "ok":
        return a
    if kind == "values":
        for _ in range(draw(st.integers(1, 3))):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.floats(allow_nan=True, allow_infinity=True))
        return a
    if kind == "shape":
        return np.ones(tuple(draw(st.integers(0, 16)) for _ in range(draw(st.integers(1, 3)))))
    if kind == "dtype":
        return a.astype(draw(st.sampled_from([np.int8, np.uint8, np.float32, np.complex64, bool])))
    if kind == "empty":
        return np.zeros((0,))
    if kind == "scalar":
        return draw(numbers)
    if kind == "text":
        return draw(st.text(max_size=5))
    return np.array([[np.ones(2), "x"]], dtype=object)


PENN_FIELDS = ("action", "pose", "x", "y", "visibility", "train", "bbox", "dimensions", "nframes")


@st.composite
def penn_file(draw) -> object:
    kind = draw(st.sampled_from(["fields", "fields", "bytes", "truncated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    d = {"action": "bowl", "pose": "side", "x": np.full((T, 13), 5.0), "y": np.full((T, 13), 6.0),
         "visibility": np.ones((T, 13)), "train": np.array([[1]]), "bbox": np.tile([1.0, 1, 9, 9], (T, 1)),
         "dimensions": np.array([[12, 16, T]]), "nframes": np.array([[T]])}
    shapes = {k: np.shape(v) for k, v in d.items()}
    for _ in range(draw(st.integers(1, 3))):
        f = draw(st.sampled_from(PENN_FIELDS))
        if draw(st.integers(0, 5)) == 0:
            d.pop(f, None)
        elif f in ("x", "y", "visibility", "bbox"):
            d[f] = _array(draw, shapes[f])
        else:
            d[f] = _array(draw, (1, 3) if f == "dimensions" else (1, 1)) if draw(st.booleans()) \
                else draw(json_values.filter(lambda v: v is not None and not isinstance(v, dict)))
    if kind == "truncated":
        return ("truncate", d, draw(st.floats(0, 1)))
    return d


def _write_mat(path: Path, content: object) -> bool:
    """Write the drawn content; False when scipy itself cannot write it (nothing to fuzz then)."""
    if isinstance(content, bytes):
        path.write_bytes(content)
        return True
    cut = None
    if isinstance(content, tuple):
        _, content, cut = content
    try:
        scipy.io.savemat(path, content)
    except Exception:  # noqa: BLE001 - scipy refuses some drawn values; they are not a file to read
        return False
    if cut is not None:
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * cut)])
    return True


def test_fuzz_pennaction(tmp_path):
    from rpan_core.formats.pennaction import import_pennaction

    p = Project.create(tmp_path / "proj", skeleton="pennaction", classes=["a"])
    src = tmp_path / "Penn"
    _frames(src / "frames" / "0001")
    (src / "labels").mkdir()
    path = src / "labels" / "0001.mat"

    @fuzz
    @given(penn_file())
    def check(content):
        if _write_mat(path, content):  # counted when a file reached the importer
            CASES["pennaction"] += 1
            _expect_clean(p, lambda: import_pennaction(p, src))

    check()


@st.composite
def jhmdb_case(draw) -> tuple:
    kind = draw(st.sampled_from(["pos", "pos", "bytes", "truncated", "field"]))
    if kind == "bytes":
        mat: object = draw(st.binary(max_size=200))
    elif kind == "field":
        mat = {draw(st.sampled_from(["pos_img", "pos_world", "scale"])): _array(draw, (2, 15, T))}
    else:
        mat = {"pos_img": _array(draw, (2, 15, T))}
        if kind == "truncated":
            mat = ("truncate", mat, draw(st.floats(0, 1)))
    split = draw(st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["a.avi 1\n", "a.avi 3\n", "a 1 2"])))
    return mat, split


def test_fuzz_jhmdb(tmp_path):
    from rpan_core.formats.jhmdb import import_jhmdb

    p = Project.create(tmp_path / "proj", skeleton="jhmdb", classes=["a"])
    src = tmp_path / "J"
    _frames(src / "Rename_Images" / "run" / "a")
    (src / "joint_positions" / "run" / "a").mkdir(parents=True)
    (src / "splits").mkdir()
    path = src / "joint_positions" / "run" / "a" / "joint_positions.mat"
    split_file = src / "splits" / "run_test_split1.txt"

    @fuzz
    @given(jhmdb_case())
    def check(case):
        mat, split = case
        if split is None:
            split_file.unlink(missing_ok=True)
        else:
            split_file.write_bytes(split.encode("utf-8", "surrogatepass"))
        if _write_mat(path, mat):  # counted when a file reached the importer
            CASES["jhmdb"] += 1
            _expect_clean(p, lambda: import_jhmdb(p, src))

    check()


# ------------------------------------------------------------------ the video opener

@pytest.fixture(scope="module")
def good_video(tmp_path_factory) -> bytes:
    from rpan_core.synth import write_mp4

    path = tmp_path_factory.mktemp("vid") / "v.mp4"
    frames = np.random.default_rng(0).integers(0, 255, (12, 24, 32, 3), dtype=np.uint8)
    return write_mp4(path, frames).read_bytes()


@st.composite
def video_bytes(draw, good: bytes) -> bytes:
    kind = draw(st.sampled_from(["random", "truncated", "flipped", "spliced", "empty"]))
    if kind == "random":
        return draw(st.binary(min_size=1, max_size=600))
    if kind == "empty":
        return b""
    if kind == "truncated":
        return good[:draw(st.integers(0, len(good) - 1))]
    data = bytearray(good)
    if kind == "flipped":
        for _ in range(draw(st.integers(1, 40))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    a = draw(st.integers(0, len(data) - 1))
    return bytes(data[:a]) + draw(st.binary(max_size=300)) + bytes(data[a + draw(st.integers(0, 200)):])


def _read_all(path: Path) -> None:
    from rpan_core.video import open_video

    try:
        with open_video(path, cache_mb=1) as v:
            n = v.frame_count
            for _ in v.frames():
                pass
            for i in sorted({0, n // 2, max(0, n - 1), n, n + 3}):
                try:
                    v.frame(i)
                except RPANError as exc:
                    _one_line(exc)
    except RPANError as exc:
        _one_line(exc)


def test_fuzz_open_video_file(tmp_path, good_video):
    @fuzz
    @given(video_bytes(good_video), st.sampled_from([".mp4", ".avi", ".mkv", ".bin"]))
    def check(data, ext):
        CASES["video_file"] += 1
        path = tmp_path / f"v{ext}"
        path.write_bytes(data)
        _read_all(path)

    check()


@st.composite
def frame_folder(draw) -> list[tuple[str, bytes]]:
    ok = cv2.imencode(".png", np.full((12, 16, 3), 80, np.uint8))[1].tobytes()
    other = cv2.imencode(".png", np.full((20, 10, 3), 80, np.uint8))[1].tobytes()
    files = []
    for i in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["ok", "ok", "other_size", "random", "truncated", "empty", "gray"]))
        data = {"ok": ok, "other_size": other, "random": draw(st.binary(max_size=100)),
                "truncated": ok[:draw(st.integers(0, len(ok) - 1))], "empty": b"",
                "gray": cv2.imencode(".png", np.full((12, 16), 9, np.uint8))[1].tobytes()}[kind]
        files.append((f"{i:03d}{draw(st.sampled_from(['.png', '.jpg', '.bmp', '.txt']))}", data))
    return files


def test_fuzz_open_video_folder(tmp_path):
    folder = tmp_path / "frames"

    @fuzz
    @given(frame_folder())
    def check(files):
        CASES["video_folder"] += 1
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for name, data in files:
            (folder / name).write_bytes(data)
        _read_all(folder)

    check()
