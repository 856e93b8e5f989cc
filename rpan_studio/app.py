"""Entry points of the desktop studio: ``rpan-studio [PROJECT]`` and ``rpan studio [PROJECT]``.

Why the demo is the default: a first-time user should see RPAN at work (heat maps
on a person, a skeleton, an action curve) before they own a project, so with no
argument the studio opens the built-in demo project, building it in a worker with
the busy bar when it is not there yet (the window is up at once, never frozen).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

__all__ = ["main", "configure_parser", "cli_main", "make_app"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", nargs="?", default=None,
                        help="a project folder (default: the built-in demo project)")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint (.pt) to analyze with (default: the project's newest run)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not analyze a video automatically when it is opened")


def make_app(argv: Sequence[str] | None = None):
    """The QApplication (created once), with pyqtgraph's row-major image order and antialiasing."""
    import pyqtgraph as pg
    from PyQt6.QtWidgets import QApplication

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setOrganizationName("RPAN")
        app.setApplicationName("RPAN Studio")
    return app


def cli_main(args: argparse.Namespace) -> int:
    app = make_app()
    from rpan_studio.main_window import MainWindow

    window = MainWindow(checkpoint=args.checkpoint, auto_analyze=not args.no_analyze)
    window.show()
    if args.project:
        window.open_project(args.project)  # RPANError -> the cli prints it
    else:
        window.open_demo()
    return int(app.exec())


def main(argv: Sequence[str] | None = None) -> int:
    """``rpan-studio [PROJECT] [--checkpoint CK]``."""
    from rpan_core.errors import RPANError

    parser = argparse.ArgumentParser(prog="rpan-studio", description="RPAN Studio: explore RPAN on video")
    configure_parser(parser)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return cli_main(args)
    except RPANError as exc:
        print(f"rpan-studio: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
