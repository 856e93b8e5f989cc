"""Shared fixtures for the engine tests (train / analyze / evaluate / demo / ddp).

The engine is written against docs/interfaces.md. While ``rpan_core.project`` or
``rpan_core.checkpoint`` are not in the tree yet, :func:`ensure_store` installs
small stand-ins implementing exactly the documented calls the engine makes, so the
engine's own logic is tested either way; once the real modules exist they are used
and the stand-ins are never loaded.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _have(name: str) -> bool:
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


def ensure_store() -> None:
    if not _have("rpan_core.checkpoint"):
        sys.modules["rpan_core.checkpoint"] = _checkpoint_standin()
    if not _have("rpan_core.project"):
        sys.modules["rpan_core.project"] = _project_standin()


def _checkpoint_standin() -> types.ModuleType:
    import torch

    from rpan_core.errors import CheckpointError
    from rpan_core.model import RPAN, RPANConfig
    from rpan_core.skeleton import get_skeleton

    m = types.ModuleType("rpan_core.checkpoint")

    @dataclass
    class CheckpointInfo:
        config: object
        skeleton: object
        classes: list
        train_config: dict
        metrics: dict

    def save_checkpoint(path, model, *, classes, train_config, metrics):
        tmp = str(path) + ".tmp"
        torch.save({"config": model.cfg.to_dict(), "state": model.state_dict(), "classes": list(classes),
                    "train_config": dict(train_config), "metrics": dict(metrics)}, tmp)
        os.replace(tmp, path)

    def load_checkpoint(path, device="cpu"):
        try:
            d = torch.load(path, map_location=device, weights_only=False)
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{path}: not a checkpoint ({exc})") from exc
        cfg = RPANConfig.from_dict(d["config"])
        model = RPAN(cfg)
        model.load_state_dict(d["state"])
        return model, CheckpointInfo(cfg, get_skeleton(cfg.skeleton), d["classes"], d["train_config"], d["metrics"])

    m.save_checkpoint, m.load_checkpoint, m.CheckpointInfo = save_checkpoint, load_checkpoint, CheckpointInfo
    return m


@dataclass
class _VR:
    id: int
    path: str
    rel_path: str
    content_hash: str
    frame_count: int
    fps: float
    width: int
    height: int
    action: object
    split: str


@dataclass
class _LA:
    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    labeled: np.ndarray
    source: np.ndarray


class StandInProject:
    """The documented Project calls the engine uses, persisted with pickle."""

    def __init__(self, folder, skeleton, classes):
        from rpan_core.skeleton import get_skeleton

        self.folder = Path(folder)
        self.skeleton = get_skeleton(skeleton)
        self.classes = list(classes)
        self._v, self._lab = [], {}

    analyses_dir = property(lambda self: self.folder / "analyses")
    runs_dir = property(lambda self: self.folder / "runs")

    @classmethod
    def create(cls, folder, skeleton="pennaction", classes=()):
        Path(folder).mkdir(parents=True, exist_ok=True)
        p = cls(folder, skeleton, classes)
        p._save()
        return p

    @classmethod
    def open(cls, folder):
        from rpan_core.errors import ProjectError

        f = Path(folder) / "standin.pkl"
        if not f.exists():
            raise ProjectError(f"{folder} is not a project")
        with open(f, "rb") as fh:
            return pickle.load(fh)

    def _save(self):
        with open(self.folder / "standin.pkl", "wb") as fh:
            pickle.dump(self, fh)

    def add_video(self, path, action=None, split="train"):
        from rpan_core.video import open_video

        with open_video(path) as v:
            r = _VR(len(self._v) + 1, os.path.abspath(path), os.path.basename(path), v.content_hash, v.frame_count,
                    v.fps, v.width, v.height, action, split)
        self._v.append(r)
        self._save()
        return r.id

    def videos(self):
        return list(self._v)

    def set_classes(self, classes):
        self.classes = list(classes)
        self._save()

    def set_action(self, vid, action):
        self._v[vid - 1].action = action
        self._save()

    def set_split(self, vid, split):
        self._v[vid - 1].split = split
        self._save()

    def set_labels(self, vid, rows):
        d = self._lab.setdefault(vid, {})
        for f, j, x, y, vis, _src in rows:
            d[(int(f), int(j))] = (x, y, bool(vis))
        self._save()

    def video_labels(self, vid):
        J = self.skeleton.num_joints
        d = self._lab.get(vid, {})
        frames = sorted({f for f, _ in d})
        fi = {f: i for i, f in enumerate(frames)}
        xy = np.zeros((len(frames), J, 2), np.float32)
        vis = np.zeros((len(frames), J), bool)
        lab = vis.copy()
        for (f, j), (x, y, v) in d.items():
            xy[fi[f], j] = (x, y)
            vis[fi[f], j] = v
            lab[fi[f], j] = True
        return _LA(np.array(frames, np.int64), xy, vis, lab, np.zeros_like(vis, np.uint8))

    def snapshot(self):
        return self

    def add_run(self, path, config):
        return 1


def _project_standin() -> types.ModuleType:
    m = types.ModuleType("rpan_core.project")
    m.Project = StandInProject
    return m


def make_tiny_project(folder: Path, actions=("jumping_jacks", "squat", "pullup"), per_class: int = 4,
                      n_frames: int = 16, size=(72, 96), seed: int = 0, test_per_class: int = 1,
                      pose_every: int = 1):
    """A project of synthetic clips (labels on every ``pose_every``-th frame), ``test_per_class`` test videos."""
    ensure_store()
    from rpan_core.project import Project
    from rpan_core.synth import render_video, write_mp4

    project = Project.create(folder, skeleton="pennaction", classes=list(actions))
    (Path(folder) / "videos").mkdir(exist_ok=True)
    truth = {}
    for k in range(per_class):
        for a in actions:
            sv = render_video(seed * 1000 + k * 17 + actions.index(a), a, n_frames=n_frames, size=size)
            p = write_mp4(Path(folder) / "videos" / f"{a}_{k}.mp4", sv.frames)
            split = "test" if k < test_per_class else "train"
            vid = project.add_video(str(p), action=a, split=split)
            rows = [(t, j, float(sv.xy[t, j, 0]), float(sv.xy[t, j, 1]), bool(sv.visible[t, j]), "imported")
                    for t in range(0, n_frames, pose_every) for j in range(sv.xy.shape[1])]
            project.set_labels(vid, rows)
            truth[vid] = sv
    return project, truth


def rpan_cli(*args: str) -> list[str]:
    """argv running ``rpan`` in a subprocess with the same store (real or stand-in)."""
    code = ("import sys; sys.path.insert(0, %r); import engine_support as s; s.ensure_store(); "
            "from rpan_core.cli import main; sys.exit(main(sys.argv[1:]))") % str(Path(__file__).parent)
    return [sys.executable, "-c", code, *args]
