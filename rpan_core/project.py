"""The project store: one folder, one SQLite database, every edit a transaction.

Why SQLite: labels are a person's work, typed in over hours while a training
process, the command line and the studio's worker threads read the same data. An
embedded database with transactions gives us crash safety, a consistent read view
for training and indexed queries for the timeline without a server.

Layout of a project folder::

    project.db      the database (WAL mode: project.db-wal / -shm live beside it)
    analyses/       cached Analysis arrays (rpan_core.analyze)
    runs/           training runs (rpan_core.engine)
    flow/           cached optical flow (rpan_core.flow)

Durability. ``journal_mode=WAL`` lets readers (training's snapshot, the
timeline) run while the studio writes, and a crashed process never corrupts the
file. ``synchronous=FULL``: each commit fsyncs the WAL, so a label the studio
reported as saved survives a power cut, not only a crash of the program
(``NORMAL`` would lose the last commits on power loss). Edits arrive at human
speed and batch edits are one transaction, so the fsync per commit is cheap;
``rpan bench`` (``store``) measures it. ``busy_timeout`` lets the studio, an
``rpan import`` and a training process share the file without "database is
locked" failures.

Transactions. Every public write is exactly one transaction (``BEGIN IMMEDIATE``
... ``COMMIT``), batches included (``set_labels`` of a whole accepted range, a
whole dataset import through :meth:`Project.transaction`); a failure rolls the
whole call back so the project is left as it was.

Threads. One ``Project`` holds one connection, opened with
``check_same_thread=False`` and guarded by a re-entrant lock, so any thread
(the studio's UI thread and its workers) may call it; calls are serialized. A
worker that reads a lot in parallel with the UI should open its own
``Project.open(folder)`` or take a :meth:`Project.snapshot`.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` is the list
of functions taking version ``i`` to ``i + 1``, applied in one transaction when an
older project is opened (a new project is built by running them all from 0). A
project from a newer RPAN Studio is refused with a :class:`ProjectError` saying so.

Untrusted projects. A project folder may come from someone else, so opening one
runs nothing it brings and believes none of its values blindly: the schema must be
exactly what :data:`MIGRATIONS` build (so a trigger or view the project did not
create - e.g. one that silently drops every edit - is refused with one
:class:`ProjectError` line), and every table's values must obey
:data:`VALUE_RULES` (a ``labels.source`` of 9 would otherwise be a KeyError on
every frame). Both checks are table-driven: a migration that adds a column adds
its rules there. A video path outside the project folder is used only if this
user added or relinked it to this project (:mod:`rpan_core.links`); other ones are
listed by :meth:`Project.untrusted_videos`, reported as missing, and must be
relinked before anything reads them.

Closing checkpoints the WAL into ``project.db`` (``wal_checkpoint(TRUNCATE)``), so
the file alone holds every label when it is copied or synced after a quit.

Label ``source`` is stored as a small integer (see :class:`LabelSource`), ordered
so that ``MAX(source)`` over a frame's joints is its timeline state. Triggers keep
that maximum per frame in ``frame_summary`` inside each label transaction, so
:meth:`Project.frame_states` of a 100,000-frame video reads one row per labeled
frame (not 13), and repeated calls are served from a cache that is patched on
this connection's writes and dropped when another connection commits.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rpan_core.errors import ProjectError, RPANError
from rpan_core.skeleton import Skeleton, SkeletonError, get_skeleton

__all__ = [
    "DB_NAME", "SCHEMA_VERSION", "MIGRATIONS", "LabelSource", "FrameState", "Label", "LabelArrays",
    "VideoRecord", "RunRecord", "Project", "ProjectSnapshot", "PersonRecord", "PersonData", "SwapRecord",
    "VideoData", "BoxArrays",
    "Prediction", "PredictionArrays",
]

DB_NAME = "project.db"
#: ``PRAGMA application_id``: marks the file as an RPAN project ("RPAN").
APPLICATION_ID = 0x5250414E
BUSY_TIMEOUT_MS = 15000


class LabelSource(str, enum.Enum):
    """Who put a label there. Compares equal to its lowercase string."""

    MANUAL = "manual"        # placed by a person from nothing
    CORRECTED = "corrected"  # a prediction a person moved
    ACCEPTED = "accepted"    # a prediction a person accepted unchanged
    IMPORTED = "imported"    # read from a dataset's annotation files

    @property
    def code(self) -> int:
        """The integer stored in the database (and in :attr:`LabelArrays.source`)."""
        return _SOURCE_CODE[self]

    @classmethod
    def parse(cls, value: Any) -> "LabelSource":
        """A LabelSource from itself, its name/value string (any case) or its stored code."""
        if isinstance(value, LabelSource):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            try:
                return _CODE_SOURCE[int(value)]
            except KeyError:
                pass
        elif isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        raise ProjectError(f"unknown label source {value!r}; use one of: {', '.join(s.value for s in cls)}")

    def __str__(self) -> str:
        return self.value


# Stored codes: ordered so that MAX over a frame gives its most human-confirmed state.
_SOURCE_CODE = {LabelSource.ACCEPTED: 1, LabelSource.CORRECTED: 2, LabelSource.MANUAL: 3, LabelSource.IMPORTED: 4}
_CODE_SOURCE = {v: k for k, v in _SOURCE_CODE.items()}


class FrameState(enum.IntEnum):
    """Timeline state of a frame (the most human-confirmed label among its joints)."""

    NONE = 0
    PREDICTED = 1  # stored predictions (rpan propagate) and no label; the studio adds frames with a model pose
    ACCEPTED = 2
    CORRECTED = 3
    MANUAL = 4     # imported labels count as manual


# stored source code -> FrameState (index 0 = no label)
_STATE_OF_CODE = np.array([FrameState.NONE, FrameState.ACCEPTED, FrameState.CORRECTED, FrameState.MANUAL,
                           FrameState.MANUAL], dtype=np.uint8)


@dataclass(frozen=True)
class Label:
    """One joint on one frame. ``x``/``y`` are NaN for a joint stored without a position."""

    x: float
    y: float
    visible: bool
    source: LabelSource
    timestamp: float = 0.0


@dataclass
class LabelArrays:
    """All labels of a video as arrays over its labeled frames (sorted).

    ``frames`` F int64, ``xy`` F x J x 2 float64 (NaN where no label; exactly as stored), ``visible`` F x J
    bool, ``labeled`` F x J bool, ``source`` F x J uint8 stored codes
    (0 none, 1 accepted, 2 corrected, 3 manual, 4 imported; ``LabelSource.code``).
    """

    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    labeled: np.ndarray
    source: np.ndarray


def _label_arrays(rows: list[tuple], J: int) -> "LabelArrays":
    """LabelArrays from ``(frame, joint, x, y, visible, source)`` rows sorted by frame."""
    if not rows:
        return LabelArrays(np.zeros(0, np.int64), np.zeros((0, J, 2), np.float64), np.zeros((0, J), bool),
                           np.zeros((0, J), bool), np.zeros((0, J), np.uint8))
    a = np.array(rows, dtype=np.float64)  # None (no position) becomes NaN
    frame, joint = a[:, 0].astype(np.int64), a[:, 1].astype(np.int64)
    keep = joint < J
    frame, joint, a = frame[keep], joint[keep], a[keep]
    frames, fi = np.unique(frame, return_inverse=True)
    F = len(frames)
    xy = np.full((F, J, 2), np.nan, np.float64)
    xy[fi, joint] = a[:, 2:4]
    visible = np.zeros((F, J), bool)
    visible[fi, joint] = a[:, 4] > 0
    labeled = np.zeros((F, J), bool)
    labeled[fi, joint] = True
    source = np.zeros((F, J), np.uint8)
    source[fi, joint] = a[:, 5].astype(np.uint8)
    return LabelArrays(frames, xy, visible, labeled, source)


@dataclass(frozen=True)
class PersonRecord:
    """A person (track) of a video: its id within the video (1, 2, ...) and its name."""

    id: int
    name: str


@dataclass
class BoxArrays:
    """A person's stored box keyframes: ``frames`` F int64, ``boxes`` F x 4 float64 ``[x0, y0, x1, y1]``
    in frame pixels, ``source`` F uint8 stored codes (see :class:`LabelSource`)."""

    frames: np.ndarray
    boxes: np.ndarray
    source: np.ndarray


@dataclass
class PersonData:
    """Everything stored about one person of a video (what :meth:`Project.delete_person` removed),
    so an undo can put it back exactly with :meth:`Project.restore_person`."""

    video: int
    id: int
    name: str
    labels: list[tuple]  # (frame, joint, x, y, visible, source code, ts)
    boxes: list[tuple]   # (frame, x0, y0, x1, y1, source code, ts)
    predictions: list[tuple] = field(default_factory=list)  # (frame, joint, x, y, visible, conf, origin, ts)


@dataclass
class VideoData:
    """Everything stored about one video (what :meth:`Project.remove_video` removed): its ``videos`` row
    (column -> value, id included) and each person's :class:`PersonData`, so an undo can put it all
    back exactly with :meth:`Project.restore_video`."""

    row: dict[str, Any]
    persons: list[PersonData]

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def label_count(self) -> int:
        return sum(len(p.labels) for p in self.persons)


@dataclass(frozen=True)
class SwapRecord:
    """What :meth:`Project.swap_persons` did, so :meth:`Project.undo_swap` can take it back exactly."""

    video: int
    a: int
    b: int
    from_frame: int
    moved: int  # label, box and prediction rows that changed hands
    pinned: tuple[tuple[int, int], ...] = ()  # (person, frame) box keyframes written to pin the boxes (pre-swap ids)


@dataclass(frozen=True)
class Prediction:
    """A stored model pose for one joint on one frame (see :meth:`Project.set_predictions`)."""

    x: float
    y: float
    visible: bool
    conf: float
    origin: str


@dataclass
class PredictionArrays:
    """A person's stored predictions over the frames that have any: ``frames`` F, ``xy`` F x J x 2 (NaN where
    none), ``visible`` / ``filled`` F x J bool, ``conf`` F x J (0 where none)."""

    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    filled: np.ndarray
    conf: np.ndarray


@dataclass(frozen=True)
class VideoRecord:
    """A video of the project. ``path`` is absolute (resolved through ``rel_path`` when the
    project folder moved together with its videos)."""

    id: int
    path: str
    rel_path: str | None
    content_hash: str
    frame_count: int
    fps: float
    width: int
    height: int
    action: str | None
    split: str
    #: False for a path outside the project folder that this user never linked (see rpan_core.links)
    trusted: bool = True

    @property
    def exists(self) -> bool:
        """True when the video is there and may be read (an untrusted path counts as missing)."""
        return self.trusted and os.path.exists(self.path)


@dataclass(frozen=True)
class RunRecord:
    """A training run registered in the project (its folder and the config it ran with)."""

    id: int
    path: str
    config: dict
    created: float


# ------------------------------------------------------------------ schema and migrations

def _migrate_0_to_1(db: sqlite3.Connection) -> None:
    """The first layout: settings, classes, videos (no split) and labels."""
    db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE classes(idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    db.execute("""CREATE TABLE videos(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        rel_path TEXT,
        content_hash TEXT NOT NULL,
        frame_count INTEGER NOT NULL,
        fps REAL NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        action TEXT,
        added REAL NOT NULL)""")
    db.execute("CREATE INDEX videos_hash ON videos(content_hash)")
    # The primary key is the index every label query uses: (video, frame) ranges.
    db.execute("""CREATE TABLE labels(
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        frame INTEGER NOT NULL CHECK(frame >= 0),
        joint INTEGER NOT NULL CHECK(joint >= 0),
        x REAL,
        y REAL,
        visible INTEGER NOT NULL CHECK(visible IN (0, 1)),
        source INTEGER NOT NULL CHECK(source BETWEEN 1 AND 4),
        ts REAL NOT NULL,
        PRIMARY KEY(video, frame, joint)) WITHOUT ROWID""")


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """Train/val/test split per video, the runs registry, a readable table of source codes."""
    db.execute("ALTER TABLE videos ADD COLUMN split TEXT NOT NULL DEFAULT 'train'")
    db.execute("""CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        rel_path TEXT,
        config TEXT NOT NULL,
        created REAL NOT NULL)""")
    db.execute("CREATE TABLE label_sources(code INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    db.executemany("INSERT INTO label_sources VALUES (?, ?)", [(c, s.value) for s, c in _SOURCE_CODE.items()])


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Per-frame timeline state kept by triggers, so the timeline reads one row per frame.

    ``frame_summary.state`` is ``MAX(labels.source)`` over the frame's joints (the
    stored code, see :class:`LabelSource`); triggers on ``labels`` keep it exact
    inside the same transaction as the label write.
    """
    db.execute("""CREATE TABLE frame_summary(
        video INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        state INTEGER NOT NULL,
        PRIMARY KEY(video, frame)) WITHOUT ROWID""")
    db.execute("INSERT INTO frame_summary SELECT video, frame, MAX(source) FROM labels GROUP BY video, frame")
    recompute = """
        DELETE FROM frame_summary WHERE video={r}.video AND frame={r}.frame;
        INSERT INTO frame_summary SELECT video, frame, MAX(source) FROM labels
            WHERE video={r}.video AND frame={r}.frame GROUP BY video, frame;"""
    db.execute(f"CREATE TRIGGER labels_ins AFTER INSERT ON labels BEGIN {recompute.format(r='NEW')} END")
    db.execute(f"CREATE TRIGGER labels_del AFTER DELETE ON labels BEGIN {recompute.format(r='OLD')} END")
    db.execute("CREATE TRIGGER labels_upd AFTER UPDATE ON labels BEGIN "
               f"{recompute.format(r='OLD')} {recompute.format(r='NEW')} END")


def _migrate_3_to_4(db: sqlite3.Connection) -> None:
    """Persons: several people per video, each with its own joints and a box per frame.

    ``persons`` lists a video's tracks (an id from 1 within the video, a name); every
    video gets person 1, and every existing label becomes person 1's, so an old
    project opens with all its labels where they were. ``labels`` is rebuilt with a
    ``person`` column in its key (video, frame, person, joint), ``frame_summary``
    keeps the timeline state per (video, person, frame), and ``boxes`` holds the
    box keyframes a person drew or a dataset gave (the frames between are
    interpolated on reading, see :mod:`rpan_core.persons`).
    """
    db.execute("""CREATE TABLE persons(
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        id INTEGER NOT NULL CHECK(id >= 1),
        name TEXT NOT NULL,
        PRIMARY KEY(video, id)) WITHOUT ROWID""")
    db.execute("INSERT INTO persons SELECT id, 1, 'person 1' FROM videos")
    for name in ("labels_ins", "labels_del", "labels_upd"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    db.execute("""CREATE TABLE labels_v4(
        video INTEGER NOT NULL,
        frame INTEGER NOT NULL CHECK(frame >= 0),
        person INTEGER NOT NULL DEFAULT 1 CHECK(person >= 1),
        joint INTEGER NOT NULL CHECK(joint >= 0),
        x REAL,
        y REAL,
        visible INTEGER NOT NULL CHECK(visible IN (0, 1)),
        source INTEGER NOT NULL CHECK(source BETWEEN 1 AND 4),
        ts REAL NOT NULL,
        PRIMARY KEY(video, frame, person, joint),
        FOREIGN KEY(video, person) REFERENCES persons(video, id) ON DELETE CASCADE) WITHOUT ROWID""")
    db.execute("INSERT INTO labels_v4 SELECT video, frame, 1, joint, x, y, visible, source, ts FROM labels "
               "WHERE video IN (SELECT id FROM videos)")
    db.execute("DROP TABLE labels")
    db.execute("ALTER TABLE labels_v4 RENAME TO labels")
    db.execute("DROP TABLE frame_summary")
    db.execute("""CREATE TABLE frame_summary(
        video INTEGER NOT NULL,
        person INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        state INTEGER NOT NULL,
        PRIMARY KEY(video, person, frame)) WITHOUT ROWID""")
    db.execute("INSERT INTO frame_summary SELECT video, person, frame, MAX(source) FROM labels "
               "GROUP BY video, person, frame")
    recompute = """
        DELETE FROM frame_summary WHERE video={r}.video AND person={r}.person AND frame={r}.frame;
        INSERT INTO frame_summary SELECT video, person, frame, MAX(source) FROM labels
            WHERE video={r}.video AND person={r}.person AND frame={r}.frame GROUP BY video, person, frame;"""
    db.execute(f"CREATE TRIGGER labels_ins AFTER INSERT ON labels BEGIN {recompute.format(r='NEW')} END")
    db.execute(f"CREATE TRIGGER labels_del AFTER DELETE ON labels BEGIN {recompute.format(r='OLD')} END")
    db.execute("CREATE TRIGGER labels_upd AFTER UPDATE ON labels BEGIN "
               f"{recompute.format(r='OLD')} {recompute.format(r='NEW')} END")
    db.execute("""CREATE TABLE boxes(
        video INTEGER NOT NULL,
        person INTEGER NOT NULL,
        frame INTEGER NOT NULL CHECK(frame >= 0),
        x0 REAL NOT NULL,
        y0 REAL NOT NULL,
        x1 REAL NOT NULL,
        y1 REAL NOT NULL,
        source INTEGER NOT NULL CHECK(source BETWEEN 1 AND 4),
        ts REAL NOT NULL,
        CHECK(x1 > x0 AND y1 > y0),
        PRIMARY KEY(video, person, frame),
        FOREIGN KEY(video, person) REFERENCES persons(video, id) ON DELETE CASCADE) WITHOUT ROWID""")


def _migrate_4_to_5(db: sqlite3.Connection) -> None:
    """Stored predictions (``rpan propagate``): the model's poses between keyframes, apart from the labels.

    A table of their own rather than a label source: every reader of ``labels``
    (training, export, the keyframe queries, ``frame_summary``) counts only what a
    person put there, and a prediction can never replace a person's label.
    """
    db.execute("""CREATE TABLE predictions(
        video INTEGER NOT NULL,
        frame INTEGER NOT NULL CHECK(frame >= 0),
        person INTEGER NOT NULL DEFAULT 1 CHECK(person >= 1),
        joint INTEGER NOT NULL CHECK(joint >= 0),
        x REAL NOT NULL,
        y REAL NOT NULL,
        visible INTEGER NOT NULL CHECK(visible IN (0, 1)),
        conf REAL NOT NULL,
        origin TEXT NOT NULL,
        ts REAL NOT NULL,
        PRIMARY KEY(video, frame, person, joint),
        FOREIGN KEY(video, person) REFERENCES persons(video, id) ON DELETE CASCADE) WITHOUT ROWID""")


#: ``MIGRATIONS[i]`` takes a database at ``user_version == i`` to ``i + 1``.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_0_to_1, _migrate_1_to_2, _migrate_2_to_3,
                                                          _migrate_3_to_4, _migrate_4_to_5]
SCHEMA_VERSION = len(MIGRATIONS)

#: Per table, ``(SQL condition a bad row meets, what is wrong)``; checked on open over every row.
#: ``:J`` is the skeleton's joint count. A migration that adds a column adds its rules here.
VALUE_RULES: dict[str, list[tuple[str, str]]] = {
    "meta": [("typeof(key) != 'text' OR typeof(value) != 'text'", "a setting that is not text")],
    "classes": [("typeof(idx) != 'integer' OR idx < 0", "a class index that is not a whole number >= 0"),
                ("typeof(name) != 'text' OR trim(name) = ''", "an empty or non-text class name")],
    "videos": [("typeof(path) != 'text' OR path = '' OR instr(path, char(0)) > 0", "an empty or non-text path"),
               ("rel_path IS NOT NULL AND typeof(rel_path) != 'text'", "a non-text relative path"),
               ("typeof(content_hash) != 'text'", "a non-text content hash"),
               ("typeof(frame_count) != 'integer' OR frame_count < 0 OR frame_count > 100000000",
                "an impossible frame count"),
               ("typeof(width) != 'integer' OR typeof(height) != 'integer' OR width < 1 OR height < 1 "
                "OR width > 100000 OR height > 100000", "an impossible frame size"),
               ("typeof(fps) NOT IN ('real', 'integer') OR NOT (fps > 0 AND fps < 100000)", "an impossible fps"),
               ("action IS NOT NULL AND action NOT IN (SELECT name FROM classes)", "an action that is not a class"),
               ("typeof(split) != 'text' OR trim(split) = ''", "an empty split")],
    # BETWEEN also refuses text and blobs (SQLite orders every number before any text or blob)
    "labels": [("frame NOT BETWEEN 0 AND 100000000 OR joint NOT BETWEEN 0 AND :J - 1",
                "a joint or frame index outside the skeleton"),
               ("source NOT IN (1, 2, 3, 4)", "a source code outside 1..4"),
               ("visible NOT IN (0, 1)", "a visibility other than 0 or 1"),
               ("x NOT BETWEEN -1e9 AND 1e9 OR y NOT BETWEEN -1e9 AND 1e9", "a position that is not a finite number"),
               ("visible = 1 AND (x IS NULL OR y IS NULL)", "a visible joint without a position"),
               ("person NOT BETWEEN 1 AND 1000000", "a person id outside 1..")],
    "predictions": [("frame NOT BETWEEN 0 AND 100000000 OR joint NOT BETWEEN 0 AND :J - 1",
                     "a joint or frame index outside the skeleton"),
                    ("visible NOT IN (0, 1)", "a visibility other than 0 or 1"),
                    ("x NOT BETWEEN -1e9 AND 1e9 OR y NOT BETWEEN -1e9 AND 1e9", "a position that is not a finite number"),
                    ("conf NOT BETWEEN 0 AND 1", "a confidence outside 0..1"),
                    ("typeof(origin) != 'text'", "a non-text origin"),
                    ("person NOT BETWEEN 1 AND 1000000", "a person id outside 1..")],
    "persons": [("id NOT BETWEEN 1 AND 1000000", "a person id outside 1.."),
                ("typeof(name) != 'text'", "a non-text person name")],
    "boxes": [("frame NOT BETWEEN 0 AND 100000000", "a frame index outside the video"),
              ("source NOT IN (1, 2, 3, 4)", "a source code outside 1..4"),
              ("x0 NOT BETWEEN -1e9 AND 1e9 OR y0 NOT BETWEEN -1e9 AND 1e9 OR x1 NOT BETWEEN -1e9 AND 1e9 "
               "OR y1 NOT BETWEEN -1e9 AND 1e9 OR NOT (x1 > x0 AND y1 > y0)", "a box that is not finite and positive")],
    "runs": [("typeof(path) != 'text'", "a non-text run path"), ("NOT json_valid(config)", "a config that is not JSON")],
    "label_sources": [],
    "frame_summary": [("state NOT IN (1, 2, 3, 4)", "a frame state outside 1..4"),
                      ("person NOT BETWEEN 1 AND 1000000", "a person id outside 1..")],
}


def _norm_sql(sql: str | None) -> str:
    return " ".join((sql or "").split())


def _schema_of(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Every table, index, trigger and view (SQLite's own excluded) -> its normalized SQL."""
    rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!'")
    return {(t, n): _norm_sql(q) for t, n, q in rows}


_EXPECTED: dict[int, dict[tuple[str, str], str]] = {}


def expected_schema(version: int) -> dict[tuple[str, str], str]:
    """The schema :data:`MIGRATIONS` build up to ``version`` (built once in memory)."""
    if version not in _EXPECTED:
        mem = sqlite3.connect(":memory:")
        try:
            for step in MIGRATIONS[:version]:
                step(mem)
            _EXPECTED[version] = _schema_of(mem)
        finally:
            mem.close()
    return _EXPECTED[version]


def check_schema(db: sqlite3.Connection, path: Path, version: int) -> None:
    """Refuse a database whose tables, indexes, triggers or views differ from what RPAN Studio creates."""
    want, have = expected_schema(version), _schema_of(db)
    extra = sorted(k for k in have if k not in want)
    changed = sorted(k for k in have if k in want and have[k] != want[k])
    missing = sorted(k for k in want if k not in have)
    for what, keys in (("holds", extra), ("has a changed definition of", changed), ("lacks", missing)):
        if keys:
            kind, name = keys[0]
            more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
            raise ProjectError(f"{path}: refused: the database {what} the {kind} {name!r}{more} that RPAN Studio "
                               f"did not create this way (schema v{version}); it may hide or change edits. Open a "
                               "project RPAN Studio wrote, or restore a backup")


_VALIDATED: set[tuple] = set()


def _file_state(path: Path) -> tuple | None:
    """The database and WAL files' identity and last write, to skip re-checking an unchanged file."""
    out: list = [os.path.realpath(path)]
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            out.append(None)
            continue
        except OSError:
            return None
        out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


def check_values(db: sqlite3.Connection, path: Path, num_joints: int) -> None:
    """Refuse a database holding values RPAN Studio never writes (see :data:`VALUE_RULES`).

    One scan per table (1.3M labels: ~1.5 s on a loaded 2-core machine); a file this
    process already checked and nobody wrote since is not scanned again.
    """
    state = _file_state(path)
    if state is not None and state in _VALIDATED:
        return
    _check_values(db, path, num_joints)
    state = _file_state(path)
    if state is not None:
        _VALIDATED.add(state)


def _check_values(db: sqlite3.Connection, path: Path, num_joints: int) -> None:
    for table, rules in VALUE_RULES.items():
        if not rules or not _has_table(db, table):
            continue
        # one scan per table for a sound file; only a bad one pays for naming what is wrong
        anybad = " OR ".join(f"({cond})" for cond, _ in rules)
        if not db.execute(f"SELECT EXISTS(SELECT 1 FROM {table} WHERE {anybad})", {"J": num_joints}).fetchone()[0]:
            continue
        cols = ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond, _ in rules)
        counts = db.execute(f"SELECT {cols} FROM {table}", {"J": num_joints}).fetchone()
        for (cond, what), n in zip(rules, counts):
            if n:
                raise ProjectError(f"{path}: refused: table {table} holds {n} row(s) with {what}; RPAN Studio "
                                   "never writes that, so the file is damaged or crafted. Restore a backup")
    bad = db.execute("PRAGMA foreign_key_check").fetchall()
    if bad:
        raise ProjectError(f"{path}: refused: table {bad[0][0]} holds {len(bad)} row(s) pointing at missing "
                           f"{bad[0][2]} rows; restore a backup")


def _connect(path: Path, *, timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=timeout_ms / 1000)
        db.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise ProjectError(f"{path}: cannot open the project database ({exc}); check the path and permissions") from exc
    return db


def _migrate(db: sqlite3.Connection, path: Path, *, creating: bool = False) -> None:
    """Bring the database to SCHEMA_VERSION in one transaction (no-op when current)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ProjectError(f"{path} was written by a newer RPAN Studio (schema v{version}; this version reads up "
                           f"to v{SCHEMA_VERSION}); update RPAN Studio to open it")
    if version == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated meanwhile
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if creating:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("COMMIT")
    except BaseException as exc:
        db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise ProjectError(f"{path}: upgrading the project from schema v{version} to v{SCHEMA_VERSION} failed "
                               f"({exc}); the project was left unchanged. Restore a backup or report this") from exc
        raise


def _finite(v: Any) -> float:
    if v is None:
        return math.nan
    f = float(v)
    return f if math.isfinite(f) else math.nan


# ------------------------------------------------------------------ shared read API

class _Reader:
    """Queries shared by :class:`Project` and :class:`ProjectSnapshot` (one connection, one lock)."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    folder: Path
    skeleton: Skeleton

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            self._check_open()
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.folder}: reading the project failed ({exc})") from exc

    def _check_open(self) -> None:
        if self._db is None:
            raise ProjectError(f"{self.folder}: the project was closed; open it again with Project.open")

    # settings
    @property
    def classes(self) -> list[str]:
        """The action classes, in index order."""
        return [r[0] for r in self._q("SELECT name FROM classes ORDER BY idx")]

    @property
    def analyses_dir(self) -> Path:
        return self.folder / "analyses"

    @property
    def runs_dir(self) -> Path:
        return self.folder / "runs"

    @property
    def flow_dir(self) -> Path:
        return self.folder / "flow"

    @property
    def db_path(self) -> Path:
        return self.folder / DB_NAME

    # videos
    _VIDEO_COLS = "id, path, rel_path, content_hash, frame_count, fps, width, height, action, split"

    project_id: str = ""

    def _record(self, row: tuple) -> VideoRecord:
        vid, path, rel, h, n, fps, w, hgt, action, split = row
        resolved = path
        if rel is not None:
            cand = os.path.normpath(os.path.join(self.folder, rel))
            if os.path.exists(cand) or not os.path.exists(path):
                resolved = cand
        return VideoRecord(int(vid), str(resolved), rel, h, int(n), float(fps), int(w), int(hgt), action, split,
                           self.is_trusted_path(resolved))

    def is_trusted_path(self, path: str | os.PathLike) -> bool:
        """Inside the project folder, or linked to this project by this user (rpan_core.links)."""
        from rpan_core import links

        if links.is_inside(path, self.folder):
            return True
        try:
            return links.real(path) in links.linked_paths(self.project_id)
        except ValueError:  # a name no file can have
            return False

    def untrusted_videos(self) -> list[VideoRecord]:
        """Videos whose path lies outside the project and was never linked by this user: relink them."""
        return [v for v in self.videos() if not v.trusted]

    def videos(self) -> list[VideoRecord]:
        """All videos, in the order they were added."""
        return [self._record(r) for r in self._q(f"SELECT {self._VIDEO_COLS} FROM videos ORDER BY id")]

    def video(self, video_id: int) -> VideoRecord:
        rows = self._q(f"SELECT {self._VIDEO_COLS} FROM videos WHERE id=?", (int(video_id),))
        if not rows:
            raise ProjectError(f"{self.folder}: no video with id {video_id}; list them with videos()")
        return self._record(rows[0])

    def missing_videos(self) -> list[VideoRecord]:
        """Videos whose file or frame folder is not where the project expects it, or lies outside the
        project without this user having linked it (relink them)."""
        return [v for v in self.videos() if not v.exists]

    # labels (``person`` is the person's id within the video; 1, the only person of a
    # single-person video, is the default everywhere)
    def frame_labels(self, video_id: int, frame: int, person: int = 1) -> dict[int, Label]:
        """The labels of one person on one frame, by joint index."""
        rows = self._q("SELECT joint, x, y, visible, source, ts FROM labels WHERE video=? AND frame=? AND person=?",
                       (int(video_id), int(frame), int(person)))
        out = {}
        for j, x, y, v, s, ts in rows:
            src = _CODE_SOURCE.get(s)
            if src is None:  # refused at open; another program wrote it since
                raise ProjectError(f"{self.folder}: a label of video {video_id} frame {frame} has the unknown "
                                   f"source code {s!r}; another program changed the project. Reopen it")
            out[int(j)] = Label(math.nan if x is None else x, math.nan if y is None else y, bool(v), src, ts)
        return out

    def frame_labels_by_person(self, video_id: int, frame: int) -> dict[int, dict[int, Label]]:
        """The labels of every person on one frame, ``{person: {joint: Label}}``, in one indexed read:
        for a view that draws all persons of the frame on screen (per person it is :meth:`frame_labels`)."""
        rows = self._q("SELECT person, joint, x, y, visible, source, ts FROM labels WHERE video=? AND frame=?",
                       (int(video_id), int(frame)))
        out: dict[int, dict[int, Label]] = {}
        for pid, j, x, y, v, s, ts in rows:
            src = _CODE_SOURCE.get(s)
            if src is None:  # refused at open; another program wrote it since
                raise ProjectError(f"{self.folder}: a label of video {video_id} frame {frame} has the unknown "
                                   f"source code {s!r}; another program changed the project. Reopen it")
            out.setdefault(int(pid), {})[int(j)] = Label(math.nan if x is None else x, math.nan if y is None else y,
                                                         bool(v), src, ts)
        return out

    def labeled_frames(self, video_id: int, person: int | None = 1) -> list[int]:
        """Sorted indices of the frames where the person (None: anyone) carries at least one label."""
        if person is None:
            return [r[0] for r in self._q("SELECT DISTINCT frame FROM labels WHERE video=? ORDER BY frame",
                                          (int(video_id),))]
        return [r[0] for r in self._q("SELECT frame FROM frame_summary WHERE video=? AND person=? ORDER BY frame",
                                      (int(video_id), int(person)))]

    def video_labels(self, video_id: int, person: int = 1) -> LabelArrays:
        """Every label of one person in a video as arrays over its labeled frames (see :class:`LabelArrays`)."""
        J = self.skeleton.num_joints
        rows = self._q("SELECT frame, joint, x, y, visible, source FROM labels WHERE video=? AND person=? "
                       "ORDER BY frame, joint", (int(video_id), int(person)))
        return _label_arrays(rows, J)

    def predictions(self, video_id: int, person: int = 1) -> PredictionArrays:
        """One person's stored predictions in a video as arrays (see :class:`PredictionArrays`)."""
        J = self.skeleton.num_joints
        rows = self._q("SELECT frame, joint, x, y, visible, conf FROM predictions WHERE video=? AND person=? "
                       "AND joint<? ORDER BY frame, joint", (int(video_id), int(person), J))
        if not rows:
            return PredictionArrays(np.zeros(0, np.int64), np.zeros((0, J, 2)), np.zeros((0, J), bool),
                                    np.zeros((0, J), bool), np.zeros((0, J)))
        a = np.array(rows, dtype=np.float64)
        frames, fi = np.unique(a[:, 0].astype(np.int64), return_inverse=True)
        joint = a[:, 1].astype(np.int64)
        xy = np.full((len(frames), J, 2), np.nan)
        xy[fi, joint] = a[:, 2:4]
        visible = np.zeros((len(frames), J), bool)
        visible[fi, joint] = a[:, 4] > 0
        filled = np.zeros((len(frames), J), bool)
        filled[fi, joint] = True
        conf = np.zeros((len(frames), J))
        conf[fi, joint] = a[:, 5]
        return PredictionArrays(frames, xy, visible, filled, conf)

    def frame_predictions(self, video_id: int, frame: int, person: int = 1) -> dict[int, Prediction]:
        """The stored predictions of one person on one frame, by joint index."""
        rows = self._q("SELECT joint, x, y, visible, conf, origin FROM predictions WHERE video=? AND frame=? "
                       "AND person=?", (int(video_id), int(frame), int(person)))
        return {int(j): Prediction(float(x), float(y), bool(v), float(c), str(o)) for j, x, y, v, c, o in rows}

    def prediction_count(self, video_id: int | None = None, person: int | None = None) -> int:
        """Number of stored joint predictions (of the whole project, one video, or one person of a video)."""
        return self._count("predictions", video_id, person)

    def _predicted_frames(self, key: tuple[int, int | None], frames: Sequence[int] | None = None) -> list[int]:
        where, params = _frames_where(key, frames)
        return [r[0] for r in self._q(f"SELECT DISTINCT frame FROM predictions WHERE {where}", params)]

    def frame_states(self, video_id: int, person: int | None = 1) -> np.ndarray:
        """uint8 :class:`FrameState` per frame of the video (length ``frame_count``) for one person
        (None: the most confirmed state over all persons).

        One indexed read of the trigger-kept ``frame_summary`` (one row per labeled
        frame and person); the result is cached per video and person and reused until
        this connection writes those frames (patched in place) or another connection
        commits (``PRAGMA data_version`` changes), so a timeline redraw is a copy.
        """
        vid = int(video_id)
        key = (vid, None if person is None else int(person))
        with self._lock:
            version = self._data_version()
            hit = self._state_cache.get(key)
            if vid in getattr(self, "_touched", {}):  # uncommitted writes of ours: read them, don't cache
                hit = None
                self._state_cache.pop(key, None)
            if hit is not None and hit[0] == version:
                return hit[1].copy()
            n = self.video(vid).frame_count
            out = np.zeros(n, np.uint8)
            _put_states(out, self._summary_rows(key))
            _put_predicted(out, self._predicted_frames(key))
            self._state_cache[key] = (version, out)
            return out.copy()

    def _summary_rows(self, key: tuple[int, int | None], frames: Sequence[int] | None = None) -> list[tuple]:
        where, params = _frames_where(key, frames)
        if key[1] is None:
            return self._q(f"SELECT frame, MAX(state) FROM frame_summary WHERE {where} GROUP BY frame", params)
        return self._q(f"SELECT frame, state FROM frame_summary WHERE {where}", params)

    def _data_version(self) -> int:
        return int(self._q("PRAGMA data_version")[0][0])

    def _count(self, table: str, video_id: int | None, person: int | None) -> int:
        """Rows of ``table`` (labels or predictions) in the project, one video, or one person of a video."""
        where, params = [], []
        if video_id is not None:
            where.append("video=?")
            params.append(int(video_id))
            if person is not None:
                where.append("person=?")
                params.append(int(person))
        sql = f"SELECT COUNT(*) FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
        return int(self._q(sql, tuple(params))[0][0])

    def label_count(self, video_id: int | None = None, person: int | None = None) -> int:
        """Number of stored joint labels (of the whole project, one video, or one person of a video)."""
        return self._count("labels", video_id, person)

    # persons
    def persons(self, video_id: int) -> list[PersonRecord]:
        """The persons (tracks) of a video, by id."""
        return [PersonRecord(int(i), str(n)) for i, n in
                self._q("SELECT id, name FROM persons WHERE video=? ORDER BY id", (int(video_id),))]

    def person(self, video_id: int, person: int) -> PersonRecord:
        rows = self._q("SELECT id, name FROM persons WHERE video=? AND id=?", (int(video_id), int(person)))
        if not rows:
            have = ", ".join(str(p.id) for p in self.persons(video_id)) or "none"
            raise ProjectError(f"video {video_id} has no person {person} (its persons: {have}); "
                               "add one with add_person")
        return PersonRecord(int(rows[0][0]), str(rows[0][1]))

    def box_keyframes(self, video_id: int, person: int = 1) -> BoxArrays:
        """The stored boxes of one person (drawn or imported keyframes), sorted by frame."""
        rows = self._q("SELECT frame, x0, y0, x1, y1, source FROM boxes WHERE video=? AND person=? ORDER BY frame",
                       (int(video_id), int(person)))
        if not rows:
            return BoxArrays(np.zeros(0, np.int64), np.zeros((0, 4), np.float64), np.zeros(0, np.uint8))
        a = np.array(rows, dtype=np.float64)
        return BoxArrays(a[:, 0].astype(np.int64), a[:, 1:5].copy(), a[:, 5].astype(np.uint8))

    def frame_box(self, video_id: int, frame: int, person: int = 1) -> np.ndarray | None:
        """The stored box ``[x0, y0, x1, y1]`` of one person on one frame, or None."""
        rows = self._q("SELECT x0, y0, x1, y1 FROM boxes WHERE video=? AND person=? AND frame=?",
                       (int(video_id), int(person), int(frame)))
        return np.array(rows[0], np.float64) if rows else None

    def person_boxes(self, video_id: int, person: int = 1, margin: float = 0.1) -> np.ndarray:
        """A box per frame for one person: ``frame_count x 4`` (NaN where none is known).

        Stored box keyframes are interpolated linearly between them (and held
        beyond the first and last); where a person has no box keyframe at all, the
        extent of its labeled pose, grown by ``margin`` of its size on each side, is
        the box of those frames. See :func:`rpan_core.persons.box_track`.
        """
        from rpan_core.persons import box_track

        n = self.video(video_id).frame_count
        return box_track(n, self.box_keyframes(video_id, person), self.video_labels(video_id, person), margin)

    def person_box(self, video_id: int, frame: int, person: int = 1, margin: float = 0.1) -> np.ndarray | None:
        """The box of one person on one frame, as :meth:`person_boxes` gives it, from a few indexed reads
        (the neighbouring box keyframes, or the neighbouring labeled frames' poses): for a view that
        shows one frame of a long video. None where no box is known."""
        from rpan_core.persons import pose_box

        vid, f, pid = int(video_id), int(frame), int(person)
        near = []
        for op, order in (("<=", "DESC"), (">=", "ASC")):
            near.append(self._q(f"SELECT frame, x0, y0, x1, y1 FROM boxes WHERE video=? AND person=? AND frame{op}? "
                                f"ORDER BY frame {order} LIMIT 1", (vid, pid, f)))
        keys = [(r[0][0], np.array(r[0][1:], np.float64)) for r in near if r]
        if not keys:  # no box keyframe at all: the nearest labeled frame on each side whose pose gives a box
            J = self.skeleton.num_joints
            for op, order in (("<=", "DESC"), (">=", "ASC")):
                rows = self._q(f"SELECT frame FROM frame_summary WHERE video=? AND person=? AND frame{op}? "
                               f"ORDER BY frame {order}", (vid, pid, f))
                for (lf,) in rows:
                    xy, vis = np.full((J, 2), np.nan), np.zeros(J, bool)
                    for j, lab in self.frame_labels(vid, lf, pid).items():
                        if j < J:
                            xy[j], vis[j] = (lab.x, lab.y), lab.visible
                    b = pose_box(xy, vis, margin)
                    if np.isfinite(b).all():
                        keys.append((lf, b))
                        break
        if not keys:
            return None
        if len(keys) == 1 or keys[0][0] == keys[1][0]:
            return keys[0][1]
        (fa, a), (fb, b) = keys
        w = (f - fa) / (fb - fa)
        return a + (b - a) * w

    # runs
    def runs(self) -> list[RunRecord]:
        """Registered training runs, oldest first."""
        out = []
        for rid, path, rel, cfg, created in self._q("SELECT id, path, rel_path, config, created FROM runs ORDER BY id"):
            resolved = path
            if rel is not None:
                cand = os.path.normpath(os.path.join(self.folder, rel))
                if os.path.exists(cand) or not os.path.exists(path):
                    resolved = cand
            out.append(RunRecord(int(rid), resolved, json.loads(cfg), float(created)))
        return out


# ------------------------------------------------------------------ the project


def _frames_where(key: tuple[int, int | None], frames: Sequence[int] | None) -> tuple[str, list]:
    """The WHERE clause for one video, one person (None: all) and some frames (None: all)."""
    vid, person = key
    where, params = "video=?", [vid]
    if person is not None:
        where, params = where + " AND person=?", params + [person]
    if frames is not None:
        where += f" AND frame IN ({','.join('?' * len(frames))})"
        params += list(frames)
    return where, params


class Project(_Reader):
    """An RPAN project folder. Create with :meth:`create`, open with :meth:`open`.

    Safe to call from any thread (one connection behind a lock, see the module
    docstring). Use as a context manager or call :meth:`close` when done.
    """

    def __init__(self, folder: Path, db: sqlite3.Connection) -> None:
        self.folder = Path(folder)
        self._db = db
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction()
        self._state_cache: dict[int, tuple[int, np.ndarray]] = {}
        self._touched: dict[int, set[int] | None] = {}  # frames written in the open transaction (None: many)
        name = self._meta("skeleton")
        try:
            self.skeleton = get_skeleton(name)
        except SkeletonError as exc:
            raise ProjectError(f"{self.folder}: the project's skeleton {name!r} is unknown to this version "
                               "of RPAN Studio; update it") from exc
        self.project_id = self._meta("project_id") or ""
        if not self.project_id:  # made by an older version: named once, so links can refer to it
            import uuid

            pid = uuid.uuid4().hex
            try:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('project_id', ?)", (pid,))
            except sqlite3.Error:  # read-only: links last for this process
                pass
            self.project_id = self._meta("project_id") or pid

    # ---------------------------------------------------------- opening
    @classmethod
    def create(cls, folder: str | os.PathLike, skeleton: str | Skeleton = "pennaction",
               classes: Iterable[str] = ()) -> "Project":
        """Create a new project in ``folder`` (made if missing; other files in it are left alone)."""
        folder = Path(folder)
        try:
            skel = get_skeleton(skeleton)
        except SkeletonError as exc:
            raise ProjectError(str(exc)) from exc
        names = _check_classes(classes)
        if (folder / DB_NAME).exists():
            raise ProjectError(f"{folder} already holds a project; open it with Project.open, "
                               "or pick another folder")
        if folder.exists() and not folder.is_dir():
            raise ProjectError(f"{folder} is a file; a project is a folder: pick a folder path")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for sub in ("analyses", "runs", "flow"):
                (folder / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create the project folder {folder} ({exc}); check the path and "
                               "permissions") from exc
        db = _connect(folder / DB_NAME)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            _migrate(db, folder / DB_NAME, creating=True)
            db.execute("BEGIN IMMEDIATE")
            import uuid

            db.executemany("INSERT INTO meta VALUES (?, ?)",
                           [("skeleton", skel.name), ("created", repr(time.time())), ("format", "rpan-project"),
                            ("project_id", uuid.uuid4().hex)])
            db.executemany("INSERT INTO classes VALUES (?, ?)", list(enumerate(names)))
            db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return cls(folder, db)

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "Project":
        """Open an existing project (its folder, or the ``project.db`` inside it); upgrades an older schema."""
        folder = Path(folder)
        if folder.is_file() and folder.name == DB_NAME:
            folder = folder.parent
        path = folder / DB_NAME
        if not folder.exists():
            raise ProjectError(f"{folder} does not exist; check the path, or create a project there")
        if not path.is_file():
            raise ProjectError(f"{folder} is not an RPAN project (no {DB_NAME}); create one with the studio's "
                               "File > New project, `rpan synth --out DIR`, or Project.create")
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise ProjectError(f"{path} is not an SQLite database, so not an RPAN project; restore it from a "
                               "backup or create a new project")
        db = _connect(path)
        try:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (version == 0 and not _has_table(db, "meta")):
                raise ProjectError(f"{path} is an SQLite file but not an RPAN project; create a project "
                                   "in another folder")
            if version <= SCHEMA_VERSION:  # before anything writes: a crafted trigger must not run
                check_schema(db, path, version)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            _migrate(db, path)
            if app_id == 0:
                db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            project = cls(folder, db)
            check_values(db, path, project.skeleton.num_joints)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise ProjectError(f"{path} cannot be read as a project ({exc}); restore it from a backup") from exc
        except BaseException:
            db.close()
            raise
        for sub in ("analyses", "runs", "flow"):
            with contextlib.suppress(OSError):
                (folder / sub).mkdir(exist_ok=True)
        return project

    def revision(self, others: bool = True) -> tuple[int, int]:
        """A value that changes whenever the store may have changed: rows this connection wrote
        (``total_changes``) and, with ``others``, commits by any other connection (``PRAGMA data_version``;
        without it the second number is 0 and the call reads no database page).

        Why: a view that draws the same data on every frame (every person's box keyframes) can keep it
        while the revision stays the same, whichever code path wrote, instead of reading it again on each
        frame or trusting that every writer sent a signal.
        """
        with self._lock:
            self._check_open()
            other = int(self._db.execute("PRAGMA data_version").fetchone()[0]) if others else 0
            return int(self._db.total_changes), other

    def close(self) -> None:
        """Checkpoint the WAL into project.db and close the connection (idempotent).

        After the checkpoint ``project.db`` alone holds every label, so copying or
        syncing only that file after a quit loses nothing. A reader still open
        elsewhere (a training snapshot) may keep part of the WAL; the wait for it is
        short so closing never hangs.
        """
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    self._db.execute("PRAGMA busy_timeout=200")
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.folder)!r}, skeleton={self.skeleton.name!r})"

    @property
    def schema_version(self) -> int:
        return int(self._q("PRAGMA user_version")[0][0])

    # ---------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator["Project"]:
        """Group several writes into one transaction (nestable; the outermost commits).

        Used by the importers so a whole dataset goes in, or nothing does::

            with project.transaction():
                vid = project.add_video(...)
                project.set_labels(vid, rows)
        """
        with self._lock:
            self._check_open()
            outer = self._depth == 0
            if outer:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise ProjectError(f"{self.folder}: the project is busy or read-only ({exc}); "
                                       "close other programs writing to it and retry") from exc
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._touched.clear()
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._touched.clear()
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise ProjectError(f"{self.folder}: saving failed ({exc}); nothing was changed. Check the "
                                       "disk space and permissions") from exc
                self._patch_state_cache()

    def _touch(self, video_id: int, frames: Iterable[int] | None) -> None:
        """Note frames written in this transaction, for the frame-state cache."""
        cur = self._touched.get(video_id, set())
        if cur is None or frames is None:
            self._touched[video_id] = None
        else:
            cur.update(frames)
            self._touched[video_id] = cur if len(cur) <= 4096 else None

    def _patch_state_cache(self) -> None:
        touched, self._touched = self._touched, {}
        for vid, frames in touched.items():
            for key in [k for k in self._state_cache if k[0] == vid]:
                if frames is None:
                    del self._state_cache[key]
                    continue
                arr = self._state_cache[key][1]
                fl = sorted(frames)
                arr[[f for f in fl if 0 <= f < len(arr)]] = 0
                for i in range(0, len(fl), 500):
                    _put_states(arr, self._summary_rows(key, fl[i:i + 500]))
                    _put_predicted(arr, self._predicted_frames(key, fl[i:i + 500]))

    def _write(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise ProjectError(f"{self.folder}: the change breaks a rule of the project ({exc})") from exc
        except sqlite3.Error as exc:
            raise ProjectError(f"{self.folder}: writing failed ({exc}); check disk space and permissions") from exc

    def _meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    # ---------------------------------------------------------- classes
    def set_classes(self, classes: Iterable[str]) -> None:
        """Replace the action classes (their order is the model's class index).

        A class still used as some video's action cannot be dropped: set those
        videos' action first.
        """
        names = _check_classes(classes)
        with self.transaction():
            used = {r[0] for r in self._q("SELECT DISTINCT action FROM videos WHERE action IS NOT NULL")}
            dropped = sorted(used - set(names))
            if dropped:
                raise ProjectError(f"classes {', '.join(dropped)} are still the action of some videos; "
                                   "change those videos' action first or keep the classes")
            self._write("DELETE FROM classes")
            self._db.executemany("INSERT INTO classes VALUES (?, ?)", list(enumerate(names)))

    def add_classes(self, names: Iterable[str]) -> None:
        """Append classes that are not there yet (keeps existing indices)."""
        cur = self.classes
        extra = [n for n in dict.fromkeys(names) if n not in cur]
        if extra:
            self.set_classes(cur + extra)

    # ---------------------------------------------------------- videos
    def add_video(self, path: str | os.PathLike, action: str | None = None, split: str = "train") -> int:
        """Add a video file or frame folder; returns its id.

        Metadata (frame count, fps, size, content hash) comes from
        :func:`rpan_core.video.open_video`. When a video with the same content is in
        the project but its file is missing (moved), that record is relinked to
        ``path`` and its id returned, labels kept; otherwise a new record is added
        (the same file may be added twice, e.g. to label it twice).
        """
        from rpan_core.video import open_video

        try:
            with open_video(path, cache_mb=1) as v:
                meta = dict(content_hash=v.content_hash, frame_count=int(v.frame_count), fps=float(v.fps),
                            width=int(v.width), height=int(v.height))
        except RPANError as exc:
            raise ProjectError(f"cannot add {path}: {exc}") from exc
        return self._add_video_record(path, meta, action=action, split=split)

    def _add_video_record(self, path: str | os.PathLike, meta: dict, *, action: str | None = None,
                          split: str = "train") -> int:
        """Insert a video from already-read metadata (also used by the benchmark)."""
        self._check_action(action)
        split = _check_split(split)
        abspath = os.path.abspath(path)
        from rpan_core import links

        with self.transaction():
            same = self._q("SELECT id, path, rel_path FROM videos WHERE content_hash=? ORDER BY id",
                           (meta["content_hash"],))
            gone = [vid for vid, _old, _rel in same if not self.video(vid).exists]  # missing, or never linked
            if not links.is_inside(abspath, self.folder):  # the user chose it: remember that, outside the project
                links.record_link(self.project_id, abspath)
            if gone:
                self._write("UPDATE videos SET path=?, rel_path=? WHERE id=?", (abspath, self._rel(abspath), gone[0]))
                return int(gone[0])
            cur = self._write("INSERT INTO videos(path, rel_path, content_hash, frame_count, fps, width, height, "
                              "action, split, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              (abspath, self._rel(abspath), meta["content_hash"], int(meta["frame_count"]),
                               float(meta["fps"]), int(meta["width"]), int(meta["height"]), action, split,
                               time.time()))
            vid = int(cur.lastrowid)
            self._ensure_person(vid, 1)
            return vid

    def _rel(self, abspath: str) -> str | None:
        try:
            return os.path.relpath(abspath, self.folder)
        except ValueError:  # another drive (Windows)
            return None

    def _check_action(self, action: str | None) -> None:
        if action is not None and action not in self.classes:
            raise ProjectError(f"action {action!r} is not one of the project's classes "
                               f"({', '.join(self.classes) or 'none yet'}); add it with set_classes first")

    def set_action(self, video_id: int, action: str | None) -> None:
        """Set (or clear with None) a video's action label."""
        self._check_action(action)
        with self.transaction():
            self.video(video_id)
            self._write("UPDATE videos SET action=? WHERE id=?", (action, int(video_id)))

    def set_split(self, video_id: int, split: str) -> None:
        """Put a video in the ``train``, ``val`` or ``test`` split (or any other split name)."""
        split = _check_split(split)
        with self.transaction():
            self.video(video_id)
            self._write("UPDATE videos SET split=? WHERE id=?", (split, int(video_id)))

    def relink(self, video_id: int, new_path: str | os.PathLike) -> VideoRecord:
        """Point a moved video at its new place. The content hash must match the stored one."""
        from rpan_core.video import open_video

        rec = self.video(video_id)
        try:
            with open_video(new_path, cache_mb=1) as v:
                h = v.content_hash
        except RPANError as exc:
            raise ProjectError(f"cannot relink video {video_id} to {new_path}: {exc}") from exc
        upgrade = False
        if h != rec.content_hash and Path(new_path).is_dir():  # a folder hashed by an older version
            from rpan_core.video import legacy_folder_hash

            with contextlib.suppress(OSError):
                upgrade = legacy_folder_hash(new_path) == rec.content_hash
        if h != rec.content_hash and not upgrade:
            raise ProjectError(f"{new_path} is a different video than {Path(rec.path).name} (video {video_id}): "
                               f"its content hash {h[:12]} differs from the stored {rec.content_hash[:12]}. "
                               "Pick the same file (or add the new one as a new video)")
        abspath = os.path.abspath(new_path)
        from rpan_core import links

        if not links.is_inside(abspath, self.folder):  # the user chose it: remember that, outside the project
            links.record_link(self.project_id, abspath)
        with self.transaction():
            self._write("UPDATE videos SET path=?, rel_path=?, content_hash=? WHERE id=?",
                        (abspath, self._rel(abspath), h, rec.id))
        return self.video(video_id)

    def video_data(self, video_id: int) -> VideoData:
        """Everything stored about one video: its row, its persons with their labels, boxes and stored
        predictions (for :meth:`restore_video`)."""
        with self._lock:
            self.video(video_id)
            cur = self._db.execute("SELECT * FROM videos WHERE id=?", (int(video_id),))
            names = [d[0] for d in cur.description]
            row = dict(zip(names, cur.fetchone()))
            persons = [self.person_data(video_id, p.id) for p in self.persons(video_id)]
        return VideoData(row, persons)

    def remove_video(self, video_id: int) -> VideoData:
        """Remove a video and everything stored about it (labels, persons, boxes, predictions) from the
        project; the file itself is left alone. Returns what went, for :meth:`restore_video` (undo)."""
        with self.transaction():
            data = self.video_data(video_id)
            self._write("DELETE FROM labels WHERE video=?", (int(video_id),))
            self._write("DELETE FROM predictions WHERE video=?", (int(video_id),))
            self._write("DELETE FROM boxes WHERE video=?", (int(video_id),))
            self._write("DELETE FROM persons WHERE video=?", (int(video_id),))
            self._write("DELETE FROM videos WHERE id=?", (int(video_id),))
            self._touch(int(video_id), None)
        return data

    def restore_video(self, data: VideoData) -> None:
        """Put back a video removed by :meth:`remove_video`, exactly: the same id, row, persons, labels (with
        their sources and timestamps), boxes and predictions, in one transaction."""
        vid = data.id
        with self.transaction():
            taken = self._q("SELECT path FROM videos WHERE id=?", (vid,))
            if taken:
                raise ProjectError(f"{self.folder}: video id {vid} is used again by {Path(taken[0][0]).name}, "
                                   "added after the removal; remove that video first to bring this one back")
            cols = list(data.row)
            self._write(f"INSERT INTO videos({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        [data.row[c] for c in cols])
            self._touch(vid, None)
            for person in data.persons:
                self.restore_person(person)

    # ---------------------------------------------------------- labels
    def _label_row(self, video_id: int, n_frames: int, frame: Any, joint: Any, x: Any, y: Any, visible: Any,
                   source: Any, ts: float, person: int = 1) -> tuple:
        try:
            f, j = int(frame), int(joint)
            if f != frame or j != joint:
                raise ValueError
        except (TypeError, ValueError):
            raise ProjectError(f"frame and joint must be integers, got frame={frame!r} joint={joint!r}") from None
        J = self.skeleton.num_joints
        if not 0 <= j < J:
            raise ProjectError(f"joint {j} does not exist: the {self.skeleton.name} skeleton has joints 0..{J - 1}")
        _check_frame(video_id, f, n_frames)
        try:
            fx, fy = _finite(x), _finite(y)
        except (TypeError, ValueError):
            raise ProjectError(f"label position must be numbers, got x={x!r} y={y!r}") from None
        vis = bool(visible)
        if vis and (math.isnan(fx) or math.isnan(fy)):
            raise ProjectError(f"a visible joint needs a finite position (frame {f}, joint {j}: x={x!r} y={y!r}); "
                               "mark it not visible or give coordinates")
        return (int(video_id), f, person, j, None if math.isnan(fx) else fx, None if math.isnan(fy) else fy,
                int(vis), LabelSource.parse(source).code, ts)

    def set_label(self, video_id: int, frame: int, joint: int, x: float, y: float, visible: bool = True,
                  source: LabelSource | str = LabelSource.MANUAL, person: int = 1) -> None:
        """Write one joint's label (replacing any), as its own transaction."""
        self.set_labels(video_id, [(frame, joint, x, y, visible, source)], person=person)

    def set_labels(self, video_id: int, rows: Iterable[tuple], person: int = 1) -> int:
        """Write many ``(frame, joint, x, y, visible, source)`` labels of one person in one transaction;
        returns the count.

        Every row is checked first; one bad row refuses the whole batch. A person
        the video does not list yet is added (named ``person N``), so labels never
        lack their person.
        """
        now = time.time()
        pid = _person_id(person)
        with self.transaction():
            n = self.video(video_id).frame_count
            data = [self._label_row(video_id, n, *r, ts=now, person=pid) if len(r) == 6 else _bad_row(r)
                    for r in rows]
            if data:
                self._ensure_person(int(video_id), pid)
            self._touch(int(video_id), (r[1] for r in data))
            try:
                self._db.executemany("INSERT OR REPLACE INTO labels(video, frame, person, joint, x, y, visible, "
                                     "source, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", data)
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.folder}: writing labels failed ({exc})") from exc
        return len(data)

    def delete_label(self, video_id: int, frame: int, joint: int, person: int = 1) -> bool:
        """Remove one joint's label; True when there was one."""
        with self.transaction():
            self._touch(int(video_id), [int(frame)])
            cur = self._write("DELETE FROM labels WHERE video=? AND frame=? AND person=? AND joint=?",
                              (int(video_id), int(frame), int(person), int(joint)))
            return cur.rowcount > 0

    def delete_frame_labels(self, video_id: int, frame: int, person: int | None = 1) -> int:
        """Remove every label of one person (None: of everyone) on one frame; returns how many went."""
        with self.transaction():
            self._touch(int(video_id), [int(frame)])
            if person is None:
                cur = self._write("DELETE FROM labels WHERE video=? AND frame=?", (int(video_id), int(frame)))
            else:
                cur = self._write("DELETE FROM labels WHERE video=? AND frame=? AND person=?",
                                  (int(video_id), int(frame), int(person)))
            return cur.rowcount

    # ---------------------------------------------------------- persons
    def _ensure_person(self, video_id: int, person: int) -> None:
        self._write("INSERT OR IGNORE INTO persons(video, id, name) VALUES (?, ?, ?)",
                    (video_id, person, f"person {person}"))

    def add_person(self, video_id: int, name: str | None = None, person_id: int | None = None) -> int:
        """Add a person (track) to a video; returns its id (the next free one unless ``person_id`` is given)."""
        with self.transaction():
            self.video(video_id)
            if person_id is None:
                pid = int(self._q("SELECT COALESCE(MAX(id), 0) + 1 FROM persons WHERE video=?",
                                  (int(video_id),))[0][0])
            else:
                pid = _person_id(person_id)
                if self._q("SELECT 1 FROM persons WHERE video=? AND id=?", (int(video_id), pid)):
                    raise ProjectError(f"video {video_id} already has a person {pid} "
                                       f"({self.person(video_id, pid).name!r}); pick another id or leave it out")
            self._write("INSERT INTO persons(video, id, name) VALUES (?, ?, ?)",
                        (int(video_id), pid, _person_name(name, pid)))
            return pid

    def rename_person(self, video_id: int, person: int, name: str) -> None:
        """Give a person another name."""
        with self.transaction():
            self.person(video_id, person)
            self._write("UPDATE persons SET name=? WHERE video=? AND id=?",
                        (_person_name(name, person, required=True), int(video_id), int(person)))

    def person_data(self, video_id: int, person: int) -> PersonData:
        """Everything stored about one person (name, labels, boxes, stored predictions), e.g. to undo its
        deletion."""
        with self._lock:
            rec = self.person(video_id, person)
            labels = self._q("SELECT frame, joint, x, y, visible, source, ts FROM labels WHERE video=? AND person=? "
                             "ORDER BY frame, joint", (int(video_id), rec.id))
            boxes = self._q("SELECT frame, x0, y0, x1, y1, source, ts FROM boxes WHERE video=? AND person=? "
                            "ORDER BY frame", (int(video_id), rec.id))
            preds = self._q("SELECT frame, joint, x, y, visible, conf, origin, ts FROM predictions WHERE video=? "
                            "AND person=? ORDER BY frame, joint", (int(video_id), rec.id))
        return PersonData(int(video_id), rec.id, rec.name, labels, boxes, preds)

    def delete_person(self, video_id: int, person: int) -> PersonData:
        """Remove a person with its labels and boxes (one transaction); returns what went, for
        :meth:`restore_person`."""
        with self.transaction():
            data = self.person_data(video_id, person)
            self._touch(int(video_id), [r[0] for r in data.labels] + [r[0] for r in data.predictions])
            self._write("DELETE FROM labels WHERE video=? AND person=?", (int(video_id), data.id))
            self._write("DELETE FROM predictions WHERE video=? AND person=?", (int(video_id), data.id))
            self._write("DELETE FROM persons WHERE video=? AND id=?", (int(video_id), data.id))
        return data

    def restore_person(self, data: PersonData) -> None:
        """Put back a person removed by :meth:`delete_person`, exactly (timestamps included)."""
        with self.transaction():
            if self._q("SELECT 1 FROM persons WHERE video=? AND id=?", (data.video, data.id)):
                raise ProjectError(f"video {data.video} already has a person {data.id}; delete it first")
            self._write("INSERT INTO persons(video, id, name) VALUES (?, ?, ?)", (data.video, data.id, data.name))
            self._touch(data.video, [r[0] for r in data.labels] + [r[0] for r in data.predictions])
            try:
                self._db.executemany("INSERT INTO labels(video, frame, person, joint, x, y, visible, source, ts) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     [(data.video, r[0], data.id, *r[1:]) for r in data.labels])
                self._db.executemany("INSERT INTO boxes(video, person, frame, x0, y0, x1, y1, source, ts) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     [(data.video, data.id, *r) for r in data.boxes])
                self._db.executemany("INSERT INTO predictions(video, frame, person, joint, x, y, visible, conf, "
                                     "origin, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     [(data.video, r[0], data.id, *r[1:]) for r in data.predictions])
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.folder}: restoring person {data.id} failed ({exc})") from exc

    def swap_persons(self, video_id: int, a: int, b: int, from_frame: int = 0) -> SwapRecord:
        """Swap two persons' identities from ``from_frame`` onwards: their labels, box keyframes and
        predictions change hands (one transaction; :meth:`undo_swap` takes it back exactly).

        For the moment a tracker (or a person labeling) follows the wrong one after
        two people cross. Boxes are pinned first: where either person has box
        keyframes, each person's box as it is now is written as a keyframe on
        ``from_frame - 1`` and ``from_frame`` (where none is stored there yet), so a box
        interpolated between keyframes on both sides of the swap frame does not
        blend the two persons after the swap.
        """
        vid, a, b, f0 = int(video_id), int(a), int(b), int(from_frame)
        if a == b:
            raise ProjectError(f"swapping person {a} with itself changes nothing; pick two different persons")
        with self.transaction():
            self.person(vid, a)
            self.person(vid, b)
            pinned = self._pin_boxes(vid, (a, b), f0)
            moved = self._swap_rows(vid, a, b, f0)
            return SwapRecord(vid, a, b, f0, moved, pinned)

    def undo_swap(self, record: SwapRecord) -> None:
        """Take back a :meth:`swap_persons` exactly: the rows change hands again and the pinned box
        keyframes it wrote are removed (one transaction)."""
        with self.transaction():
            self._swap_rows(record.video, record.a, record.b, record.from_frame)
            self._db.executemany("DELETE FROM boxes WHERE video=? AND person=? AND frame=?",
                                 [(record.video, p, f) for p, f in record.pinned])

    def _pin_boxes(self, vid: int, persons: tuple[int, int], f0: int) -> tuple[tuple[int, int], ...]:
        """Box keyframes on ``f0 - 1`` and ``f0`` of each person whose box is known there, when either has box
        keyframes (boxes made only from poses follow the labels as they swap). Returns (person, frame) written."""
        n = self.video(vid).frame_count
        keys = {p: self.box_keyframes(vid, p) for p in persons}
        if f0 <= 0 or not any(len(k.frames) for k in keys.values()):
            return ()
        tracks = {p: self.person_boxes(vid, p) for p in persons}  # both read before either is pinned
        now, code = time.time(), LabelSource.ACCEPTED.code
        rows, pinned = [], []
        for p in persons:
            have = set(int(f) for f in keys[p].frames)
            for f in (f0 - 1, f0):
                if 0 <= f < n and f not in have and np.isfinite(tracks[p][f]).all():
                    rows.append((vid, p, f, *(float(v) for v in tracks[p][f]), code, now))
                    pinned.append((p, f))
        self._db.executemany("INSERT INTO boxes(video, person, frame, x0, y0, x1, y1, source, ts) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return tuple(pinned)

    def _swap_rows(self, vid: int, a: int, b: int, f0: int) -> int:
        moved = 0
        for table, cols, key in (("labels", "frame, person, joint, x, y, visible, source, ts", "frame"),
                                 ("boxes", "frame, person, x0, y0, x1, y1, source, ts", "frame"),
                                 ("predictions", "frame, person, joint, x, y, visible, conf, origin, ts", "frame")):
            rows = self._q(f"SELECT {cols} FROM {table} WHERE video=? AND {key}>=? AND person IN (?, ?)",
                           (vid, f0, a, b))
            if not rows:
                continue
            if table in ("labels", "predictions"):
                self._touch(vid, (r[0] for r in rows))
            self._write(f"DELETE FROM {table} WHERE video=? AND {key}>=? AND person IN (?, ?)", (vid, f0, a, b))
            swapped = [(vid, r[0], b if r[1] == a else a, *r[2:]) for r in rows]
            self._db.executemany(f"INSERT INTO {table}(video, {cols}) VALUES "
                                 f"({','.join('?' * (len(cols.split(',')) + 1))})", swapped)
            moved += len(rows)
        return moved

    # ---------------------------------------------------------- predictions
    def set_predictions(self, video_id: int, frames: Sequence[int], xy: Any, visible: Any, conf: Any,
                        origin: str, *, filled: Any = None, person: int = 1) -> int:
        """Store one person's model poses for ``frames`` (xy F x J x 2, visible / conf F x J) in one transaction.

        Predictions already stored on those frames are replaced (a rerun does not
        pile up); joints with a non-finite position, or not ``filled``, store
        nothing. Labels are never read or written here: a prediction sits beside a
        person's label and the label wins wherever both exist. Returns the count.
        """
        fr = np.asarray(frames, np.int64).reshape(-1)
        xy = np.asarray(xy, np.float64)
        J = self.skeleton.num_joints
        if xy.shape != (len(fr), J, 2):
            raise ProjectError(f"predictions of shape {xy.shape} for {len(fr)} frames; expected {len(fr)} x {J} x 2 "
                               f"(the {self.skeleton.name} skeleton)")
        vis = np.broadcast_to(np.asarray(visible, bool), (len(fr), J))
        cf = np.clip(np.broadcast_to(np.asarray(conf, np.float64), (len(fr), J)), 0.0, 1.0)
        keep = np.isfinite(xy).all(axis=2) & np.isfinite(cf)
        if filled is not None:
            keep &= np.asarray(filled, bool)
        pid = _person_id(person)
        now = time.time()
        with self.transaction():
            n = self.video(video_id).frame_count
            bad = fr[(fr < 0) | (fr >= n)]
            if len(bad):
                raise ProjectError(f"frame {int(bad[0])} is outside video {video_id} (frames 0..{n - 1})")
            vid = int(video_id)
            fi, ji = np.nonzero(keep)
            if len(fi):
                self._ensure_person(vid, pid)
            self._touch(vid, fr.tolist())
            self._db.executemany("DELETE FROM predictions WHERE video=? AND frame=? AND person=?",
                                 [(vid, int(f), pid) for f in fr])
            rows = [(vid, int(fr[i]), pid, int(j), float(xy[i, j, 0]), float(xy[i, j, 1]), int(vis[i, j]),
                     float(cf[i, j]), str(origin), now) for i, j in zip(fi, ji)]
            try:
                self._db.executemany("INSERT INTO predictions(video, frame, person, joint, x, y, visible, conf, "
                                     "origin, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.folder}: writing predictions failed ({exc}); check disk space") from exc
        return len(rows)

    def clear_predictions(self, video_id: int, frames: Iterable[int] | None = None, person: int | None = 1) -> int:
        """Remove stored predictions of one person (None: everyone) on ``frames`` (None: all); returns how many."""
        vid = int(video_id)
        where, params = "video=?", [vid]
        if person is not None:
            where, params = where + " AND person=?", params + [int(person)]
        with self.transaction():
            if frames is None:
                self._touch(vid, None)
                return self._write(f"DELETE FROM predictions WHERE {where}", params).rowcount
            fl = [int(f) for f in frames]
            self._touch(vid, fl)
            return sum(self._write(f"DELETE FROM predictions WHERE {where} AND frame=?", (*params, f)).rowcount
                       for f in fl)

    # ---------------------------------------------------------- boxes
    def set_boxes(self, video_id: int, rows: Iterable[tuple], person: int = 1) -> int:
        """Write box keyframes ``(frame, x0, y0, x1, y1[, source])`` of one person in one transaction
        (source defaults to manual); returns the count. Every row is checked first."""
        now = time.time()
        pid = _person_id(person)
        with self.transaction():
            n = self.video(video_id).frame_count
            data = [_box_row(int(video_id), pid, n, r, now) for r in rows]
            if data:
                self._ensure_person(int(video_id), pid)
            try:
                self._db.executemany("INSERT OR REPLACE INTO boxes(video, person, frame, x0, y0, x1, y1, source, ts) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", data)
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.folder}: writing boxes failed ({exc})") from exc
        return len(data)

    def set_box(self, video_id: int, frame: int, box: Sequence[float], person: int = 1,
                source: LabelSource | str = LabelSource.MANUAL) -> None:
        """Write one box keyframe ``[x0, y0, x1, y1]`` (frame pixels) of one person."""
        if len(box) != 4:
            raise ProjectError(f"a box is [x0, y0, x1, y1], got {list(box)!r}")
        self.set_boxes(video_id, [(frame, *box, source)], person=person)

    def delete_box(self, video_id: int, frame: int, person: int = 1) -> bool:
        """Remove one box keyframe; True when there was one."""
        with self.transaction():
            cur = self._write("DELETE FROM boxes WHERE video=? AND person=? AND frame=?",
                              (int(video_id), int(person), int(frame)))
            return cur.rowcount > 0

    # ---------------------------------------------------------- runs
    def add_run(self, path: str | os.PathLike, config: dict) -> int:
        """Register a training run folder with its config (JSON-able); returns its id."""
        abspath = os.path.abspath(path)
        try:
            text = json.dumps(config, default=str)
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"the run config cannot be stored as JSON ({exc})") from exc
        with self.transaction():
            cur = self._write("INSERT INTO runs(path, rel_path, config, created) VALUES (?, ?, ?, ?)",
                              (abspath, self._rel(abspath), text, time.time()))
            return int(cur.lastrowid)

    # ---------------------------------------------------------- snapshot / checks
    def snapshot(self) -> "ProjectSnapshot":
        """A consistent read-only view for training while the studio keeps writing (close it when done)."""
        self._check_open()
        snap = ProjectSnapshot(self.folder, self.skeleton)
        snap.project_id = self.project_id
        return snap

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` for a sound file)."""
        return "\n".join(r[0] for r in self._q("PRAGMA integrity_check"))


class ProjectSnapshot(_Reader):
    """A read-only view of a project frozen at the moment it was taken.

    It holds its own connection inside one read transaction (WAL keeps the pages
    of that moment), so writes made after it was taken are not seen. Close it when
    done: an open snapshot keeps the WAL from being checkpointed.
    """

    def __init__(self, folder: Path, skeleton: Skeleton) -> None:
        self.folder = Path(folder)
        self.skeleton = skeleton
        self._lock = threading.RLock()
        self._db = _connect(self.folder / DB_NAME)
        self._db.execute("PRAGMA query_only=ON")
        self._db.execute("BEGIN")
        self._db.execute("SELECT COUNT(*) FROM videos").fetchone()  # the read transaction starts here
        self._classes = [r[0] for r in self._db.execute("SELECT name FROM classes ORDER BY idx")]
        self._state_cache: dict[int, tuple[int, np.ndarray]] = {}

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("COMMIT")
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> "ProjectSnapshot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ helpers

def _put_states(out: np.ndarray, rows: list[tuple]) -> None:
    if rows:
        a = np.array(rows, dtype=np.int64)
        ok = (a[:, 0] >= 0) & (a[:, 0] < len(out))
        out[a[ok, 0]] = _STATE_OF_CODE[a[ok, 1]]


def _put_predicted(out: np.ndarray, frames: list[int]) -> None:
    """Frames with a stored prediction and no label are PREDICTED."""
    if frames:
        f = np.asarray(frames, np.int64)
        f = f[(f >= 0) & (f < len(out))]
        out[f[out[f] == FrameState.NONE]] = FrameState.PREDICTED


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _check_classes(classes: Iterable[str]) -> list[str]:
    if isinstance(classes, str):
        raise ProjectError("classes must be a list of names, not one string; e.g. classes=['jump', 'squat']")
    names = [str(c).strip() for c in classes]
    if any(not n for n in names):
        raise ProjectError("class names must not be empty")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ProjectError(f"class names must be unique; repeated: {', '.join(dup)}")
    return names


def _check_split(split: str) -> str:
    if not isinstance(split, str) or not split.strip():
        raise ProjectError(f"split must be a name such as 'train', 'val' or 'test', got {split!r}")
    return split.strip()


def _check_frame(video_id: int, f: int, n_frames: int) -> None:
    if f < 0 or (n_frames > 0 and f >= n_frames):
        raise ProjectError(f"frame {f} is outside video {video_id} (frames 0..{n_frames - 1})")


def _person_id(person: Any) -> int:
    try:
        pid = int(person)
        if pid != person or isinstance(person, bool):
            raise ValueError
    except (TypeError, ValueError):
        raise ProjectError(f"a person is given by its id (an integer from 1), got {person!r}") from None
    if pid < 1:
        raise ProjectError(f"person ids start at 1, got {pid}")
    return pid


def _person_name(name: Any, pid: int, required: bool = False) -> str:
    if name is None and not required:
        return f"person {pid}"
    text = str(name).strip() if name is not None else ""
    if not text or "\n" in text:
        raise ProjectError(f"a person's name must be one non-empty line, got {name!r}")
    return text


def _box_row(video_id: int, person: int, n_frames: int, row: Any, ts: float) -> tuple:
    if not isinstance(row, (tuple, list)) or len(row) not in (5, 6):
        raise ProjectError(f"a box row is (frame, x0, y0, x1, y1[, source]), got {row!r}")
    frame = row[0]
    try:
        f = int(frame)
        if f != frame:
            raise ValueError
        x0, y0, x1, y1 = (float(v) for v in row[1:5])
    except (TypeError, ValueError):
        raise ProjectError(f"a box row is (frame, x0, y0, x1, y1[, source]) with an integer frame and numbers, "
                           f"got {row!r}") from None
    _check_frame(video_id, f, n_frames)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x1 <= x0 or y1 <= y0:
        raise ProjectError(f"box on frame {f} must have finite corners with x1 > x0 and y1 > y0, "
                           f"got {[x0, y0, x1, y1]}")
    source = LabelSource.parse(row[5] if len(row) == 6 else LabelSource.MANUAL).code
    return (video_id, person, f, x0, y0, x1, y1, source, ts)


def _bad_row(row: Any) -> tuple:
    raise ProjectError(f"a label row is (frame, joint, x, y, visible, source), got {row!r}")
