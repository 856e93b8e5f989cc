"""Entry points of the desktop studio: ``rpan-studio [PROJECT]`` and ``rpan studio [PROJECT]``.

Why the demo is the default: a first-time user should see RPAN at work (heat maps
on a person, a skeleton, an action curve) before they own a project, so with no
argument the studio opens the built-in demo project, building it in a worker with
the busy bar when it is not there yet (the window is up at once, never frozen).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["main", "configure_parser", "cli_main", "make_app"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", nargs="?", default=None,
                        help="a project folder, or a video file (opened in a scratch project; File > Save "
                             "project as keeps it) (default: the built-in demo project)")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint (.pt) to analyze with (default: the project's newest run)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not analyze a video automatically when it is opened")
    parser.add_argument("--screenshot", default=None, metavar="PNG",
                        help="open, wait until the first video is shown and analyzed, save the window "
                             "as PNG and quit (for documentation and headless checks)")
    parser.add_argument("--frame", type=int, default=None, help="with --screenshot: the frame to show")
    parser.add_argument("--video", default=None, metavar="ID|NAME",
                        help="with a project (or the demo): open this video (its id or file name) instead of the "
                             "first, e.g. --video pose2sim_cam01.mp4")


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
    window.first_video = getattr(args, "video", None)
    window.show()
    if args.project and Path(args.project).is_file() and Path(args.project).name != "project.db":
        window.open_video_file(args.project)  # a video: its scratch project
    elif args.project:
        window.open_project(args.project)  # RPANError -> the cli prints it
    else:
        window.open_demo()
    if args.screenshot:
        return _screenshot(app, window, args.screenshot, args.frame)
    return int(app.exec())


def _screenshot(app, window, path: str, frame: int | None, timeout_s: float = 300.0) -> int:
    """Wait (event loop running) until no task is busy and the wanted frame is on screen; save; quit."""
    import time

    from PyQt6.QtCore import QTimer

    window.quiet = True
    window.quiet_answer = False
    state = {"rc": 1, "sought": False}
    start = time.monotonic()

    def poll() -> None:
        busy = any(t.isRunning() for t in window.tasks.values())
        shown = window.view.frame_index is not None and window.view.frame_index == window.frame
        if not busy and shown and frame is not None and not state["sought"]:
            state["sought"] = True
            window.seek(frame)
            return
        if (not busy and shown) or time.monotonic() - start > timeout_s:
            state["rc"] = 0 if window.grab().save(path) and not busy else 1
            for e in window.errors:
                print(f"rpan-studio: {e}", file=sys.stderr)
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(200)
    app.exec()
    return state["rc"]


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
