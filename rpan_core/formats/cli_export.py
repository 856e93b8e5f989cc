"""``rpan export``: write a project's labels as COCO JSON, CSV, or the PennAction layout.

    rpan export --format coco|csv|pennaction --project DIR --out PATH
"""

from __future__ import annotations

import argparse

FORMATS = ("coco", "csv", "pennaction")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--project", required=True, help="project folder")
    parser.add_argument("--out", required=True, help="output file (coco, csv) or folder (pennaction)")


def cli_main(args: argparse.Namespace) -> int:
    from rpan_core.project import Project

    with Project.open(args.project) as project:
        if args.format == "coco":
            from rpan_core.formats.coco import export_coco
            out = export_coco(project, args.out)
        elif args.format == "csv":
            from rpan_core.formats.csv_export import export_csv
            out = export_csv(project, args.out)
        else:
            from rpan_core.formats.pennaction import export_pennaction
            out = export_pennaction(project, args.out)
    print(f"wrote {out}")
    return 0
