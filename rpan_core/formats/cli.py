"""``rpan import`` and ``rpan export``: the command line over the formats registry.

    rpan import --format pennaction|jhmdb|coco SRC --project DIR
    rpan export --format coco|csv|pennaction --project DIR --out PATH

The format names and the dispatch come from :mod:`rpan_core.formats.registry`
(the studio's menus use the same table). ``rpan import`` into a folder holding
no project creates one with the format's skeleton (pennaction for PennAction,
jhmdb for JHMDB unless ``--convert``, pennaction for COCO unless ``--skeleton``
says otherwise), and removes it again when the import fails. The whole import
is one transaction.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rpan_core.errors import ConfigError
from rpan_core.formats.registry import exporters, get_format, importers

__all__ = ["configure_parser", "cli_main", "configure_export_parser", "export_main"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """``rpan import``'s options."""
    parser.add_argument("src", help="dataset folder (PennAction / JHMDB root) or COCO .json file")
    parser.add_argument("--format", required=True, choices=[f.name for f in importers()])
    parser.add_argument("--project", required=True, help="project folder (created when it holds no project)")
    parser.add_argument("--split", type=int, default=1, help="JHMDB split number 1-3 (default 1)")
    parser.add_argument("--convert", action="store_true",
                        help="JHMDB into a pennaction project: map the joints through skeleton.convert_pose")
    parser.add_argument("--skeleton", default=None, help="skeleton for a newly created project")
    parser.add_argument("--images-root", default=None,
                        help="COCO: folder holding <video>/ frame folders (default: the JSON's folder)")


def _options(args: argparse.Namespace) -> dict:
    """The command-line values of the options the chosen format takes."""
    if args.format == "jhmdb" and args.split not in (1, 2, 3):
        raise ConfigError(f"--split must be 1, 2 or 3, got {args.split}")
    given = {"split": args.split, "convert": args.convert, "images_root": args.images_root}
    return {k: given[k] for k in get_format("import", args.format).options}


def cli_main(args: argparse.Namespace) -> int:
    """``rpan import``."""
    from rpan_core.project import DB_NAME, Project

    fmt = get_format("import", args.format)
    options = _options(args)
    folder = Path(args.project)
    if (folder / DB_NAME).exists():
        project = Project.open(folder)
        created = False
    else:
        skel = args.skeleton or ("pennaction" if fmt.name == "jhmdb" and args.convert else fmt.skeleton)
        project = Project.create(folder, skeleton=skel)
        created = True
    ok = False
    try:
        report = fmt.run(project, args.src, **options)
        for line in report.notes:  # e.g. COCO: the videos matched, keypoints aliased and not imported
            print(line)
        print(f"imported {len(report.video_ids)} videos ({report.labels} joint labels) into {folder}"
              + (f" (new {project.skeleton.name} project)" if created else ""))
        ok = True
    finally:
        project.close()
        if created and not ok:
            _remove_new_project(folder)
    return 0


def configure_export_parser(parser: argparse.ArgumentParser) -> None:
    """``rpan export``'s options."""
    parser.add_argument("--format", required=True, choices=[f.name for f in exporters()])
    parser.add_argument("--project", required=True, help="project folder")
    parser.add_argument("--out", required=True, help="output file (coco, csv) or folder (pennaction)")


def export_main(args: argparse.Namespace) -> int:
    """``rpan export``."""
    from rpan_core.project import Project

    with Project.open(args.project) as project:
        out = get_format("export", args.format).run(project, args.out)
    print(f"wrote {out}")
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
