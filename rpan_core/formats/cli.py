"""``rpan import``: read a dataset's annotations into a project.

    rpan import --format pennaction|jhmdb|coco SRC --project DIR

A missing project is created with the format's skeleton (pennaction for
PennAction, jhmdb for JHMDB unless ``--convert``, pennaction for COCO unless
``--skeleton`` says otherwise), and removed again when the import fails. The
whole import is one transaction.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rpan_core.errors import ConfigError

FORMATS = ("pennaction", "jhmdb", "coco")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", help="dataset folder (PennAction / JHMDB root) or COCO .json file")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--project", required=True, help="project folder (created when it holds no project)")
    parser.add_argument("--split", type=int, default=1, help="JHMDB split number 1-3 (default 1)")
    parser.add_argument("--convert", action="store_true",
                        help="JHMDB into a pennaction project: map the joints through skeleton.convert_pose")
    parser.add_argument("--skeleton", default=None, help="skeleton for a newly created project")
    parser.add_argument("--images-root", default=None,
                        help="COCO: folder holding <video>/ frame folders (default: the JSON's folder)")


def cli_main(args: argparse.Namespace) -> int:
    from rpan_core.project import DB_NAME, Project

    folder = Path(args.project)
    if (folder / DB_NAME).exists():
        project = Project.open(folder)
        created = False
    else:
        skel = args.skeleton or {"pennaction": "pennaction", "coco": "pennaction",
                                 "jhmdb": "pennaction" if args.convert else "jhmdb"}[args.format]
        project = Project.create(folder, skeleton=skel)
        created = True
    ok = False
    try:
        if args.format == "pennaction":
            from rpan_core.formats.pennaction import import_pennaction
            ids = import_pennaction(project, args.src)
        elif args.format == "jhmdb":
            if args.split not in (1, 2, 3):
                raise ConfigError(f"--split must be 1, 2 or 3, got {args.split}")
            from rpan_core.formats.jhmdb import import_jhmdb
            ids = import_jhmdb(project, args.src, split=args.split, convert=args.convert)
        else:
            from rpan_core.formats.coco import import_coco_report
            report = import_coco_report(project, args.src, images_root=args.images_root)
            ids = report.video_ids
            for line in report.lines()[1:]:  # the videos matched, keypoints aliased and not imported
                print(line)
        n = sum(project.label_count(v) for v in set(ids))
        print(f"imported {len(ids)} videos ({n} joint labels) into {folder}"
              + (f" (new {project.skeleton.name} project)" if created else ""))
        ok = True
    finally:
        project.close()
        if created and not ok:
            _remove_new_project(folder)
    return 0


def _remove_new_project(folder: Path) -> None:
    """Undo Project.create after a failed import into a project this command made (only what it made)."""
    from rpan_core.project import DB_NAME

    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
        (folder / name).unlink(missing_ok=True)
    for sub in ("analyses", "runs", "flow", ""):
        d = folder / sub if sub else folder
        try:
            d.rmdir()  # only when empty
        except OSError:
            pass
