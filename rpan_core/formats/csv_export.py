"""CSV export: one row per labeled joint, for spreadsheets and pandas.

Columns: ``video_id, video, frame, person, joint, joint_name, x, y, visible, source``
(``video`` is the file or folder name; ``person`` the person's id in its video, 1
for a single-person video; ``x``/``y`` 0-based pixels, empty for a joint stored
without a position; ``visible`` 0/1; ``source`` manual / corrected / accepted /
imported). Rows are sorted by video, frame, person, joint. Read it back with
``pandas.read_csv(path)``.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpan_core.atomic import atomic_write, remove_orphans_of
from rpan_core.errors import FormatError
from rpan_core.project import LabelSource

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project, ProjectSnapshot

COLUMNS = ("video_id", "video", "frame", "person", "joint", "joint_name", "x", "y", "visible", "source")


def export_csv(project: Project | ProjectSnapshot, out_path: str | os.PathLike, *,
               video_ids: list[int] | None = None) -> Path:
    """Write the project's labels as CSV (atomically: a temp file, then rename); returns the path."""
    out = Path(out_path)
    names = project.skeleton.joints
    try:
        remove_orphans_of(out)  # temp files of exports killed earlier
        _write_rows(project, out, names, video_ids)
    except OSError as exc:
        raise FormatError(f"cannot write {out}: {exc.strerror or exc}; free some disk space or choose another "
                          "folder (an older export there is unchanged)") from exc
    return out


def _write_rows(project: Project | ProjectSnapshot, out: Path, names: Any, video_ids: list[int] | None) -> None:
    with atomic_write(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in project.videos():
            if video_ids is not None and r.id not in video_ids:
                continue
            vname = Path(r.path).name
            rows = []
            for q in project.persons(r.id):
                la = project.video_labels(r.id, person=q.id)
                for i, f in enumerate(la.frames.tolist()):
                    for j in range(len(names)):
                        if not la.labeled[i, j]:
                            continue
                        x, y = (float(v) for v in la.xy[i, j])
                        rows.append([r.id, vname, f, q.id, j, names[j], "" if math.isnan(x) else repr(x),
                                     "" if math.isnan(y) else repr(y), int(la.visible[i, j]),
                                     LabelSource.parse(int(la.source[i, j])).value])
            rows.sort(key=lambda row: (row[2], row[3], row[4]))
            w.writerows(rows)
