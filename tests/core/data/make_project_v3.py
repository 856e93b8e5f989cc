"""Write a schema-v3 project with the code of commit 4e70a1b and print it as SQL (made project_v3.sql).

Run at that commit only (it asserts SCHEMA_VERSION == 3): `python tests/core/data/make_project_v3.py > project_v3.sql`.
"""
import sqlite3, sys, tempfile
from pathlib import Path
import cv2, numpy as np
from rpan_core.project import Project, SCHEMA_VERSION, APPLICATION_ID
assert SCHEMA_VERSION == 3
tmp = Path(tempfile.mkdtemp())
def frames(folder, n, level):
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full((8, 10, 3), (level + 17 * i) % 250, np.uint8))
    return folder
p = Project.create(tmp / "proj", skeleton="pennaction", classes=["jump", "squat"])
a = p.add_video(frames(tmp / "proj" / "clip_a", 6, 0), action="jump")
b = p.add_video(frames(tmp / "proj" / "clip_b", 5, 40), action="squat", split="val")
rows = []
src = ["manual", "corrected", "accepted", "imported"]
for f in (0, 2, 5):
    for j in range(13):
        vis = (j + f) % 4 != 0
        rows.append((f, j, 1.5 + j + 0.25 * f, 2.0 + 0.5 * j + f, vis, src[(j + f) % 4]))
p.set_labels(a, rows)
p.set_label(a, 3, 7, float("nan"), float("nan"), False, "manual")  # a joint stored without a position
p.set_labels(b, [(1, j, 3.0 + j, 4.0 - 0.125 * j, True, "imported") for j in range(13)])
p.add_run(tmp / "proj" / "runs" / "r1", {"preset": "small", "epochs": 2})
p.close()
db = sqlite3.connect(tmp / "proj" / "project.db")
lines = list(db.iterdump())
out = "\n".join(lines).replace(str(tmp / "proj"), "/data/old-project")
print("-- A schema v3 RPAN project (3 videos' worth of labels, a run) written by Project.create / set_labels")
print("-- at commit 4e70a1b (before persons), dumped with sqlite3 iterdump; paths replaced by /data/old-project.")
print(out)
print(f"PRAGMA user_version={SCHEMA_VERSION};")
print(f"PRAGMA application_id={APPLICATION_ID};")
