"""A crash loses nothing: SIGKILL a process in the middle of a burst of edits, reopen, find them all.

The child builds the real Qt objects (offscreen): a pyqtgraph view, a QUndoStack
and a PoseEditor on a real project, and applies edits the way the studio does
(editor moves, visibility toggles, accepting predictions, undo, action labels),
printing each edit only after it has returned. The parent kills it with SIGKILL
mid-burst; every printed edit must then be in the store, and SQLite's
integrity_check must say ok.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from rpan_core.project import Project  # noqa: E402
from tests.conftest import CLASSES, write_frames  # noqa: E402

from .pose_editor_support import rows  # noqa: E402

N_FRAMES = 40

CHILD = textwrap.dedent(
    r'''
    import json, sys
    sys.path.insert(0, sys.argv[5])  # the repo
    from rpan_core.project import Project
    import numpy as np
    import pyqtgraph as pg
    from PyQt6.QtGui import QUndoStack
    from PyQt6.QtWidgets import QApplication
    from rpan_studio import commands as cmds
    from rpan_studio.views.pose_editor import PoseEditor

    folder, vid, n_frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    classes = json.loads(sys.argv[4])
    app = QApplication([])
    project = Project.open(folder)
    view = pg.GraphicsView(); vb = pg.ViewBox(invertY=True); view.setCentralItem(vb); view.show()
    stack = QUndoStack()
    editor = PoseEditor(vb, stack)
    J = 13
    def out(**kw):
        print(json.dumps(kw), flush=True)
    k = 0
    for frame in range(n_frames):
        pred = np.stack([np.arange(J) + 0.25 * frame, np.arange(J) * 2.0 + 0.5], axis=1)
        editor.set_context(project, vid, frame, (pred, np.ones(J)))
        for joint in range(J):
            kind = k % 9
            if kind == 8 and joint + 1 < J:
                # accept the prediction for this frame's remaining joints (NaN = leave the others alone)
                rest = pred.copy(); rest[:joint] = np.nan
                cmds.accept_prediction(stack, project, vid, [frame], rest[None], np.ones((1, J)))
                for jj in range(joint, J):
                    out(k=k, op="set", frame=frame, joint=jj, x=pred[jj, 0], y=pred[jj, 1], visible=True,
                        source="accepted")
                k += 1
                break
            if kind == 3:
                editor.select(joint); editor.toggle_visibility()
                out(k=k, op="set", frame=frame, joint=joint, x=pred[joint, 0], y=pred[joint, 1],
                    visible=False, source="corrected")
            elif kind == 6:
                editor.move_joint(joint, 1.0, 1.0)
                stack.undo()
                out(k=k, op="absent", frame=frame, joint=joint)
            elif kind == 7:
                cmds.set_action(stack, project, vid, classes[k % len(classes)])
                out(k=k, op="action", action=classes[k % len(classes)], next=classes[(k + 9) % len(classes)])
            else:
                x, y = 3.0 + frame + joint / 16.0, 5.0 + joint + frame / 32.0
                editor.select(None)
                editor.begin_place(joint)
                editor.place_at(x, y)
                out(k=k, op="set", frame=frame, joint=joint, x=x, y=y, visible=True, source="manual")  # placed by a click: the person's own label
            k += 1
    out(op="done")
    '''
)


def _db_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.suffix in (".db", ".sqlite", ".sqlite3")]


def test_sigkill_mid_burst_loses_no_printed_edit(tmp_path: Path, make_project) -> None:
    project = make_project()
    vid = project.add_video(write_frames(tmp_path / "clip", N_FRAMES))
    folder = Path(project.folder)
    project.close()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, str(script), str(folder), str(vid), str(N_FRAMES), json.dumps(CLASSES),
                             str(Path(__file__).resolve().parents[2])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            cwd=str(Path(__file__).resolve().parents[2]))
    printed = []
    try:
        while len(printed) < 120:
            line = proc.stdout.readline()
            if not line:
                break
            printed.append(json.loads(line))
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    printed += [json.loads(x) for x in rest.splitlines() if x.strip()]
    assert proc.returncode == -signal.SIGKILL, f"child was not killed mid-burst (rc {proc.returncode}): {err[-2000:]}"
    assert not any(p["op"] == "done" for p in printed)
    assert len(printed) >= 120
    ops = {p["op"] for p in printed}
    assert {"set", "absent", "action"} <= ops

    reopened = Project.open(folder)
    try:
        cache: dict[int, dict] = {}
        for p in printed:
            if p["op"] in ("set", "absent"):
                f = p["frame"]
                stored = cache.setdefault(f, rows(reopened, vid, f))
                if p["op"] == "absent":
                    assert p["joint"] not in stored, p
                else:
                    assert stored.get(p["joint"]) == (p["x"], p["y"], p["visible"], p["source"]), p
        last_action = [p for p in printed if p["op"] == "action"][-1]
        # the edit after the last printed one may have committed too, but never anything older
        assert reopened.video(vid).action in (last_action["action"], last_action["next"])
    finally:
        reopened.close()
    for db in _db_files(folder):
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()
    assert _db_files(folder), "no SQLite database found in the project folder"
