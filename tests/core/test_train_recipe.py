"""The training recipe for a few labeled frames: steps that follow the labels, pose-only runs, best.pt chosen
on held-out labels (or honestly not at all), a wall-clock budget, checkpoints per epoch or per interval."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rpan_core.engine import TrainConfig, run_training
from rpan_core.runlog import read_events

TINY = dict(backbone="small_cnn", backbone_weights=None, input_size=(48, 64), hidden=16, batch=4, lr=0.01,
            clip_len=4, seed=0, tensorboard=False, preset="finetune")


def make_pose_project(folder: Path, n_videos: int = 2, n_frames: int = 24, every: int = 1,
                      classes: tuple = ()) -> Path:
    """Videos with joints labeled on every ``every``-th frame and no action label (what a labeler starts with)."""
    from rpan_core.project import Project
    from rpan_core.synth import render_video, write_mp4

    project = Project.create(folder, skeleton="pennaction", classes=list(classes))
    (folder / "videos").mkdir(exist_ok=True)
    for k in range(n_videos):
        sv = render_video(k, ("squat", "jumping_jacks")[k % 2], n_frames=n_frames, size=(48, 64))
        vid = project.add_video(str(write_mp4(folder / "videos" / f"v{k}.mp4", sv.frames)), action=None)
        project.set_labels(vid, [(t, j, float(sv.xy[t, j, 0]), float(sv.xy[t, j, 1]), bool(sv.visible[t, j]),
                                  "imported") for t in range(0, n_frames, every) for j in range(sv.xy.shape[1])])
    return folder


@pytest.fixture(scope="module")
def pose2(tmp_path_factory):
    torch.set_num_threads(1)
    return make_pose_project(tmp_path_factory.mktemp("pose2") / "project", n_videos=2)


def _events(run) -> list[dict]:
    return read_events(Path(run) / "events.jsonl")


def test_two_videos_make_more_than_one_step_an_epoch_and_steps_fix_the_length(pose2, tmp_path):
    run = run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), steps=5, **TINY),
                       progress=False)
    ev = _events(run)
    start = ev[0]
    # 2 videos x 24 labeled frames (less the held-out ones) in clips of 4: several batches of 4 an epoch
    assert start["steps_per_epoch"] >= 2
    assert start["total_steps"] == 5 and [e["step"] for e in ev if e["type"] == "step"] == [1, 2, 3, 4, 5]
    assert ev[-1]["status"] == "finished"


def test_step_count_does_not_depend_on_the_number_of_videos(tmp_path):
    p4 = make_pose_project(tmp_path / "p4", n_videos=4, n_frames=12)
    run = run_training(TrainConfig(project=str(p4), run_dir=str(tmp_path / "r"), steps=3, **TINY), progress=False)
    assert [e["step"] for e in _events(run) if e["type"] == "step"] == [1, 2, 3]


def test_pose_only_training_masks_the_action_loss_and_says_so_once(pose2, tmp_path):
    run = Path(run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), steps=4, **TINY),
                            progress=False))
    ev = _events(run)
    assert ev[0]["pose_only"] is True and "action loss is masked" in ev[0]["pose_only_note"]
    steps = [e for e in ev if e["type"] == "step"]
    assert all(e["action_loss"] == 0.0 for e in steps) and all(e["pose_loss"] > 0 for e in steps)
    assert (run / "log.txt").read_text().count("pose-only training") == 1
    from rpan_core.checkpoint import load_checkpoint

    _, info = load_checkpoint(run / "last.pt")
    assert info.classes == ["(pose only)"]  # the project has no action classes


def test_best_is_chosen_by_pck_on_held_out_frames(pose2, tmp_path):
    run = Path(run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), epochs=4, **TINY),
                            progress=False))
    ev = _events(run)
    assert ev[0]["best_by"] == "pck"
    epochs = [e for e in ev if e["type"] == "epoch"]
    assert all(e["val_pck"] is not None for e in epochs)
    from rpan_core.checkpoint import load_checkpoint

    _, info = load_checkpoint(run / "best.pt")
    best = max(epochs, key=lambda e: e["val_pck"])  # the first of equals
    assert info.metrics["val_pck"] == best["val_pck"] and info.metrics["epoch"] == best["epoch"]
    assert ev[-1]["best_checkpoint"] == str(run / "best.pt") == ev[-1]["result"]
    assert "held-out frames" in (run / "config.json").read_text()


def test_without_held_out_labels_there_is_no_best_and_the_run_says_so(pose2, tmp_path):
    run = Path(run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), epochs=2, holdout=0.0,
                                        **TINY), progress=False))
    ev = _events(run)
    assert ev[0]["best_by"] is None and "no best.pt" in ev[0]["no_best"]
    assert not (run / "best.pt").exists()
    assert ev[-1]["best_checkpoint"] is None and ev[-1]["result"] == str(run / "last.pt")
    assert "no held-out labels" in (run / "log.txt").read_text()


def test_minutes_is_a_wall_clock_budget_that_ends_cleanly(pose2, tmp_path):
    run = Path(run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), epochs=100000,
                                        minutes=0.01, **TINY), progress=False))
    ev = _events(run)
    end = ev[-1]
    assert end["status"] == "finished" and "budget" in end["message"]
    assert 1 <= end["step"] < ev[0]["total_steps"]
    assert (run / "last.pt").exists() and (run / "best.pt").exists()
    assert [e for e in ev if e["type"] == "epoch"], "the last step is validated like an epoch end"


def test_checkpoints_per_epoch_or_per_interval(pose2, tmp_path, monkeypatch):
    import rpan_core.engine.hooks as H

    calls: list[int] = []
    real = H.save_state
    monkeypatch.setattr(H, "save_state", lambda *a, **kw: (calls.append(kw["state"].step), real(*a, **kw)))
    common = dict(project=str(pose2), epochs=3, holdout=0.0, **TINY)
    run_training(TrainConfig(run_dir=str(tmp_path / "per_epoch"), **common), progress=False)
    per_epoch = list(calls)
    calls.clear()
    run_training(TrainConfig(run_dir=str(tmp_path / "interval"), save_every_min=60, **common), progress=False)
    spe = _events(tmp_path / "interval")[0]["steps_per_epoch"]
    assert per_epoch == [spe, 2 * spe, 3 * spe]  # one save an epoch, none per step
    assert calls == [3 * spe]  # an hour's interval: only the run's end


def test_adamw_cosine_and_cross_entropy_recipe(pose2, tmp_path):
    run = Path(run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), steps=6, optimizer="adamw",
                                        lr_schedule="cosine", pose_loss="cross_entropy",
                                        **dict(TINY, lr=0.003)), progress=False))
    steps = [e for e in _events(run) if e["type"] == "step"]
    lrs = [e["lr"] for e in steps]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.1 * 0.003  # cosine down to ~0 at the last step
    assert all(e["pose_loss"] > 0 for e in steps)
    st = torch.load(run / "trainer_state.pt", weights_only=True)
    assert "exp_avg" in str(st["optimizer"]["state"])  # AdamW's moments are in the resume state


def test_cross_entropy_pose_loss_is_smallest_at_the_target():
    from rpan_core.losses import rpan_loss

    tg = torch.zeros(1, 1, 2, 5)
    tg[..., 2] = 1.0
    logits, labels = torch.zeros(1, 1, 3), torch.zeros(1, dtype=torch.long)
    masks = (torch.ones(1, 1, dtype=torch.bool), torch.zeros(1, dtype=torch.bool))
    good = rpan_loss(logits, tg * 0.96 + 0.01, labels, tg, *masks, pose_loss="cross_entropy")["pose"]
    flat = rpan_loss(logits, torch.full_like(tg, 0.2), labels, tg, *masks, pose_loss="cross_entropy")["pose"]
    assert float(good) < float(flat)
    assert abs(float(flat) - (-torch.log(torch.tensor(0.2)))) < 1e-5  # the mean over joints of -log(0.2)


def test_a_recipe_plugs_in_its_own_data_and_validation(pose2, tmp_path, monkeypatch):
    """DATA_FACTORIES / MODEL_BUILDERS: a training preset brings its data, batching and held-out metric."""
    from rpan_core.engine import build, config, data

    scores = iter([0.2, 0.7, 0.5])
    built: list[str] = []
    collated: list[int] = []

    def factory(trainer, model):
        rd = data.clip_data(trainer, model)
        rd.collate_fn = lambda samples: (collated.append(len(samples)), data_collate(samples))[1]
        rd.validate_fn = lambda m: {"val_pck": next(scores)}
        rd.measures = {"accuracy": False, "pck": True}
        return rd

    def builder(tc, name, over):
        built.append(name)
        return build.build_from_preset(tc, "demo", over)

    from rpan_core.data import collate as data_collate

    monkeypatch.setitem(config.PRESETS, "mine", dict(config.PRESETS["finetune"], epochs=3))
    monkeypatch.setitem(config.LR_STEP_SHARE, "mine", 0.5)
    monkeypatch.setitem(data.DATA_FACTORIES, "mine", factory)
    monkeypatch.setitem(build.MODEL_BUILDERS, "tiny-demo", builder)
    run = Path(run_training(TrainConfig(project=str(pose2), run_dir=str(tmp_path / "r"), model_preset="tiny-demo",
                                        **dict(TINY, preset="mine", epochs=None)), progress=False))
    from rpan_core.checkpoint import read_checkpoint

    assert built == ["tiny-demo"]
    assert len(collated) == _events(run)[-1]["step"] and set(collated) == {4}
    _, info = read_checkpoint(run / "best.pt")
    assert info.metrics["val_pck"] == 0.7 and info.metrics["epoch"] == 2
    assert [e["val_pck"] for e in _events(run) if e["type"] == "epoch"] == [0.2, 0.7, 0.5]
