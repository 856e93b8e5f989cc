"""Checkpoint comparison: the table shows both results and the difference, evaluated in a worker thread."""

from __future__ import annotations

import threading
from pathlib import Path


from rpan_core.errors import CheckpointError  # noqa: E402
from rpan_core.skeleton import PENNACTION  # noqa: E402
from rpan_studio.dialogs.compare import CompareDialog, comparison_rows, flatten_metrics  # noqa: E402



def test_flatten_and_rows() -> None:
    joints = ("a", "b")
    # the shape rpan_core.evaluate.evaluate returns
    res = {"accuracy": 0.5, "split": "test", "videos": 4, "per_class_accuracy": {"jump": 1.0, "wave": None},
           "pck": {"argmax": {"mean": 0.25, "per_joint": [0.1, None]}, "refined": {"mean": 0.3, "per_joint": [0.2, 0.4]}},
           "confusion": [[1, 0], [0, 1]], "ok": True, "pck_alpha": 0.2, "classes": ["jump", "wave"]}
    assert flatten_metrics(res, joints) == {
        "accuracy": 0.5, "videos": 4.0, "per_class_accuracy.jump": 1.0, "pck.argmax.mean": 0.25,
        "pck.argmax.per_joint.a": 0.1, "pck.refined.mean": 0.3, "pck.refined.per_joint.a": 0.2,
        "pck.refined.per_joint.b": 0.4}
    other = {"accuracy": 0.75, "pck": {"argmax": {"mean": 0.5}, "refined": None}, "videos": 4}
    rows = comparison_rows(res, other, joints)
    assert [r[0] for r in rows[:4]] == ["accuracy", "pck.refined.mean", "pck.argmax.mean", "videos"]
    assert rows[0] == ("accuracy", 0.5, 0.75, 0.25)
    by = {r[0]: r for r in rows}
    assert by["pck.argmax.mean"] == ("pck.argmax.mean", 0.25, 0.5, 0.25)
    assert by["pck.refined.per_joint.b"] == ("pck.refined.per_joint.b", 0.4, None, None)


def test_dialog_compares_in_a_worker_thread(qtbot, tmp_path, project_with_video) -> None:
    project, _vid = project_with_video
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_text("0.5")
    b.write_text("0.75")
    threads = []

    def fake_evaluate(checkpoint, proj, split):
        threads.append((threading.current_thread() is threading.main_thread(), split, proj.skeleton))
        v = float(open(checkpoint).read())
        return {"accuracy": v, "pck": {"argmax": {"mean": v / 2, "per_joint": [v] * PENNACTION.num_joints}}}

    dlg = CompareDialog(project, [str(a), str(b)], evaluate_fn=fake_evaluate)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.compared, timeout=10000) as sig:
        assert dlg.compare(str(a), str(b), "val")
    rows = sig.args[0]
    assert [t[:2] for t in threads] == [(False, "val"), (False, "val")]
    assert rows[0] == ("accuracy", 0.5, 0.75, 0.25)
    assert dlg.table.item(0, 0).text() == "accuracy"
    assert dlg.table.item(0, 1).text() == "0.5000" and dlg.table.item(0, 2).text() == "0.7500"
    assert dlg.table.item(0, 3).text() == "+0.25"
    names = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())]
    assert "pck.argmax.per_joint.left_wrist" in names

    def broken(checkpoint, proj, split):
        raise CheckpointError(f"{checkpoint} is not an RPAN checkpoint; pick a .pt written by rpan train")

    qtbot.waitUntil(lambda: not dlg.worker.isRunning(), timeout=10000)
    dlg.evaluate_fn = broken
    assert dlg.compare(str(a), str(b))
    qtbot.waitUntil(lambda: "Cannot compare" in dlg.status_label.text(), timeout=10000)
    assert "is not an RPAN checkpoint" in dlg.status_label.text()
    qtbot.waitUntil(lambda: not dlg.worker.isRunning(), timeout=10000)
    assert not dlg.compare(str(a), str(tmp_path / "missing.pt"))
    assert "missing.pt" in dlg.status_label.text()


def test_compare_real_checkpoints_with_rpan_evaluate(qtbot, tmp_path) -> None:
    """Two tiny real checkpoints through rpan_core.evaluate: the table matches evaluate() called directly."""
    from rpan_core.evaluate import evaluate
    from rpan_core.project import Project
    from rpan_core.synth import render_video, write_mp4
    from rpan_core.engine import TrainConfig, run_training

    actions = ("jumping_jacks", "squat")
    folder = tmp_path / "project"
    project = Project.create(folder, skeleton="pennaction", classes=list(actions))
    (folder / "videos").mkdir()
    for k, split in enumerate(("train", "test")):
        for a in actions:
            sv = render_video(k * 5 + actions.index(a), a, n_frames=8, size=(48, 64))
            vid = project.add_video(str(write_mp4(folder / "videos" / f"{a}_{k}.mp4", sv.frames)), action=a,
                                    split=split)
            project.set_labels(vid, [(t, j, float(sv.xy[t, j, 0]), float(sv.xy[t, j, 1]), bool(sv.visible[t, j]),
                                      "manual") for t in range(8) for j in range(13)])
    ckpts = []
    for seed, steps in ((0, 1), (1, 4)):
        cfg = TrainConfig(project=str(folder), run_dir=str(Path(project.runs_dir) / f"run{seed}"), backbone="small_cnn",
                          backbone_weights=None, input_size=(48, 64), hidden=16, batch=2, clip_len=4, epochs=2,
                          max_steps=steps, seed=seed, device="cpu", tensorboard=False)
        run = Path(run_training(cfg, progress=False))
        ckpts.append(str(run / "last.pt"))
    want_a = flatten_metrics(evaluate(ckpts[0], project, split="test"), PENNACTION.joints)
    want_b = flatten_metrics(evaluate(ckpts[1], project, split="test"), PENNACTION.joints)
    dlg = CompareDialog(project)
    qtbot.addWidget(dlg)
    assert set(ckpts) <= {dlg.combo_a.itemText(i) for i in range(dlg.combo_a.count())}  # found in runs/
    with qtbot.waitSignal(dlg.compared, timeout=120_000) as sig:
        assert dlg.compare(ckpts[0], ckpts[1], "test")
    got = {name: (a, b) for name, a, b, _ in sig.args[0]}
    assert got["accuracy"] == (want_a["accuracy"], want_b["accuracy"])
    assert got["pck.refined.mean"] == (want_a["pck.refined.mean"], want_b["pck.refined.mean"])
    assert {k for k in got} == set(want_a) | set(want_b)
