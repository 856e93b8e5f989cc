"""``rpan add``: put videos into a project, creating the project when there is none.

    rpan add --project P [--skeleton S] [--action A] [--split S] VIDEO...

Why a command of its own: labeling a person's own footage starts with getting
the footage in, and before this the only ways were an importer (which needs
annotation files) or the studio. The command is safe to repeat:

* Every video is opened and checked *before* anything is written, so one corrupt
  or missing file refuses the whole call and leaves the project as it was (a
  project this call created is removed again).
* A video whose content is already in the project is reported and skipped, not
  added a second time (``Project.add_video`` itself allows duplicates, which the
  studio uses to label one file twice). When the stored copy's file has gone
  missing, the record is relinked to the new path, labels kept.
* ``--skeleton`` on an existing project must match the project's skeleton: a
  model and labels for one joint set cannot be mixed with another's.
* ``--action`` names a class; one the project does not know yet is added to its
  classes (the user is saying "this video shows A").
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from rpan_core.errors import ProjectError, RPANError

__all__ = ["AddResult", "add_videos", "configure_parser", "cli_main"]


@dataclass
class AddResult:
    """What :func:`add_videos` did: ids of the videos added, relinked and already there."""

    folder: Path
    skeleton: str
    created: bool
    added: list[tuple[str, int]] = field(default_factory=list)      # (path, video id)
    relinked: list[tuple[str, int]] = field(default_factory=list)   # (path, video id)
    existing: list[tuple[str, int]] = field(default_factory=list)   # (path, video id) already in the project
    classes_added: list[str] = field(default_factory=list)

    @property
    def video_ids(self) -> list[int]:
        return [v for _, v in self.added + self.relinked + self.existing]


def _read_meta(path: Path) -> dict:
    """Open a video (file or frame folder) once and return what the project stores about it."""
    from rpan_core.video import open_video

    if not path.exists():
        raise ProjectError(f"cannot add {path}: no such file or folder; check the path")
    try:
        with open_video(path, cache_mb=1) as v:
            return dict(content_hash=v.content_hash, frame_count=int(v.frame_count), fps=float(v.fps),
                        width=int(v.width), height=int(v.height))
    except RPANError as exc:
        raise ProjectError(f"cannot add {path}: {exc}") from exc


def add_videos(folder: str | os.PathLike, videos: list[str | os.PathLike], *, skeleton: str | None = None,
               action: str | None = None, split: str = "train") -> AddResult:
    """Add ``videos`` to the project in ``folder`` (created with ``skeleton`` when it holds none).

    All-or-nothing: every video is read first; the writes are one transaction.
    Raises :class:`ProjectError` for a missing or unreadable video, a skeleton
    other than the project's, or an empty list.
    """
    from rpan_core.formats.cli import _remove_new_project
    from rpan_core.project import DB_NAME, Project
    from rpan_core.skeleton import SkeletonError, get_skeleton

    folder = Path(folder)
    if not videos:
        raise ProjectError("no video given; name one or more video files or frame folders to add")
    if skeleton is not None:
        try:
            skeleton = get_skeleton(skeleton).name
        except SkeletonError as exc:
            raise ProjectError(str(exc)) from exc
    paths = [Path(v) for v in videos]
    metas = [_read_meta(p) for p in paths]  # refuse before anything is created or written
    created = not (folder / DB_NAME).exists()
    project = Project.create(folder, skeleton=skeleton or "pennaction") if created else Project.open(folder)
    ok = False
    try:
        if skeleton is not None and project.skeleton.name != skeleton:
            raise ProjectError(f"{folder} is a {project.skeleton.name} project; its videos cannot be labeled "
                               f"with the {skeleton} skeleton. Leave out --skeleton, or use another project folder")
        res = AddResult(folder, project.skeleton.name, created)
        with project.transaction():
            if action is not None and action not in project.classes:
                project.add_classes([action])
                res.classes_added.append(action)
            records = project.videos()
            seen: dict[str, int] = {}  # content hash -> id, for the same file named twice in one call
            for path, meta in zip(paths, metas):
                h = meta["content_hash"]
                same = [r for r in records if r.content_hash == h]
                present = [r for r in same if r.exists]
                if h in seen:
                    res.existing.append((str(path), seen[h]))
                    continue
                if present:
                    res.existing.append((str(path), present[0].id))
                    seen[h] = present[0].id
                    continue
                vid = project._add_video_record(path, meta, action=action, split=split)
                (res.relinked if same else res.added).append((str(path), vid))
                seen[h] = vid
        ok = True
        return res
    finally:
        project.close()
        if created and not ok:
            _remove_new_project(folder)


# ----------------------------------------------------------------------------- command line

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files or folders of frame images")
    parser.add_argument("--project", required=True, help="project folder (a project is created when it holds none)")
    parser.add_argument("--skeleton", help="joint set of a new project (pennaction, jhmdb, coco; default "
                                           "pennaction); for an existing project it must be the project's")
    parser.add_argument("--action", help="action class of these videos (added to the classes if new)")
    parser.add_argument("--split", default="train", help="train, val or test (default train)")


def cli_main(args: argparse.Namespace) -> int:
    res = add_videos(args.project, args.videos, skeleton=args.skeleton, action=args.action, split=args.split)
    if res.created:
        print(f"created a {res.skeleton} project in {res.folder}")
    if res.classes_added:
        print(f"new action class: {', '.join(res.classes_added)}")
    for path, vid in res.added:
        print(f"added {path} as video {vid}")
    for path, vid in res.relinked:
        print(f"relinked video {vid} (its file had moved) to {path}")
    for path, vid in res.existing:
        print(f"already in the project: {path} (video {vid})")
    return 0
