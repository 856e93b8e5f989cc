"""The demo: a small synthetic project plus the shipped demo checkpoint (``rpan demo``).

Why: a person who just installed RPAN Studio has no dataset and no GPU. The demo
project is a dozen synthetic clips (``rpan_core.synth``: exact joints, nine
actions) built deterministically on first use, with ``assets/demo_checkpoint.pt``
(trained by ``scripts/make_demo_assets.py`` on other synthetic clips) registered
in it, so the studio and ``rpan demo`` show real attention maps, poses and action
predictions within a minute on a laptop.

The same module holds the training recipe of the demo model and the writer of
``docs/results.md``, shared by ``scripts/make_demo_assets.py`` and
``scripts/ablation_table.py`` so both tables come from one code path.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from rpan_core.errors import CheckpointError, ProjectError

DEMO_SEED = 2017
DEMO_VIDEOS = 12
DEMO_FRAMES = 48
#: Bump when the demo project's content changes (an old one is rebuilt).
DEMO_VERSION = 2
#: Training videos keep labels on every DEMO_KEYFRAME-th frame only, as a person labels keyframes.
DEMO_KEYFRAME = 8
REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_MD = REPO_ROOT / "docs" / "results.md"


def demo_checkpoint_path() -> Path:
    """``assets/demo_checkpoint.pt`` at the repository root (the package is installed editable)."""
    env = os.environ.get("RPAN_DEMO_CHECKPOINT")
    return Path(env) if env else REPO_ROOT / "assets" / "demo_checkpoint.pt"


def demo_dir() -> Path:
    env = os.environ.get("RPAN_DEMO_DIR")
    return Path(env) if env else Path.home() / ".cache" / "rpan-studio" / "demo"


class DemoPath(type(Path())):  # type: ignore[misc]
    """The demo project's folder; ``.checkpoint`` is the registered demo checkpoint (for the studio)."""

    checkpoint: Path | None = None


@contextlib.contextmanager
def _lock(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_demo_project(path: str | os.PathLike | None = None, progress: Any = None) -> DemoPath:
    """Create (once, deterministic by seed) the demo project and return its folder.

    The folder is ``path``, else ``$RPAN_DEMO_DIR``, else ``~/.cache/rpan-studio/demo``.
    A folder without the completion marker (an interrupted build) is rebuilt. The
    demo checkpoint is copied into the project's ``checkpoints/`` and recorded in
    ``demo.json``; the returned path's ``.checkpoint`` points at it.
    """
    from rpan_core.synth import make_project

    folder = Path(path) if path is not None else demo_dir()
    marker = folder / "demo.json"
    src_ck = demo_checkpoint_path()
    if not src_ck.exists():
        raise CheckpointError(f"the demo checkpoint {src_ck} is missing; regenerate it with "
                              "`python scripts/make_demo_assets.py` (or reinstall RPAN Studio)")
    with _lock(folder.parent / f".{folder.name}.lock"):
        ok = False
        if marker.exists():
            try:
                ok = json.loads(marker.read_text()).get("version") == DEMO_VERSION
            except ValueError:
                ok = False
        if not ok:
            if folder.exists():
                shutil.rmtree(folder)
            total = DEMO_VIDEOS
            if progress is not None:
                progress(0, total)
            project = make_project(folder, DEMO_VIDEOS, seed=DEMO_SEED, n_frames=DEMO_FRAMES, workers=1,
                                   progress=False)
            _thin_labels(project)
            ck_dir = folder / "checkpoints"
            ck_dir.mkdir(exist_ok=True)
            dst = ck_dir / "demo.pt"
            shutil.copy2(src_ck, dst)
            add_run = getattr(project, "add_run", None)
            if add_run is not None:
                add_run(str(ck_dir), {"name": "demo", "checkpoint": str(dst), "source": str(src_ck)})
            close = getattr(project, "close", None)
            if close:
                close()
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(json.dumps({"version": DEMO_VERSION, "seed": DEMO_SEED, "videos": DEMO_VIDEOS,
                                       "checkpoint": str(dst), "created": time.time()}, indent=1))
            os.replace(tmp, marker)
            if progress is not None:
                progress(total, total)
        else:
            dst = Path(json.loads(marker.read_text())["checkpoint"])
            # a new RPAN Studio ships a new demo model: the project's copy follows it
            if not dst.exists() or not filecmp.cmp(src_ck, dst, shallow=False):
                dst.parent.mkdir(parents=True, exist_ok=True)
                tmp = dst.with_suffix(".pt.tmp")
                shutil.copy2(src_ck, tmp)
                os.replace(tmp, dst)
    out = DemoPath(folder)
    out.checkpoint = dst
    return out


def _thin_labels(project: Any) -> None:
    """Keep whole-video labels on the test videos (evaluation) and keyframes on the others.

    Why: a demo where every frame is already labeled shows nothing to do; with
    keyframes only, the timeline shows labeled and unlabeled frames, the review
    queue has work in it, and accepting or correcting the model's poses means something.
    """
    for rec in project.videos():
        if rec.split == "test":
            continue
        with project.transaction():
            for f in project.labeled_frames(rec.id):
                if f % DEMO_KEYFRAME:
                    project.delete_frame_labels(rec.id, f)


# ----------------------------------------------------------------------------- the demo model's recipe

def train_demo_model(workdir: str | os.PathLike, *, n_videos: int = 360, n_frames: int = 40, epochs: int = 50,
                     attention: str = "human-part", seed: int = 7, lr: float = 0.02, batch: int = 8,
                     dropout: float = 0.3,
                     hidden: int = 128, input_size: tuple[int, int] = (128, 160), size: tuple[int, int] = (240, 320),
                     progress: bool = True) -> dict[str, Any]:
    """Train the demo model on synthetic clips in ``workdir``; returns held-out metrics and paths."""
    from rpan_core.synth import make_project
    from rpan_core.engine import TrainConfig, run_training

    work = Path(workdir)
    proj = work / "project"
    if (work / f"run-{attention}-{epochs}ep").exists():
        shutil.rmtree(work / f"run-{attention}-{epochs}ep")  # a fresh run, never appended to an old log
    if not (proj / ".synth_done").exists():
        if proj.exists():
            shutil.rmtree(proj)
        make_project(proj, n_videos, seed=seed, n_frames=n_frames, size=size, progress=progress)
        (proj / ".synth_done").write_text("ok")
    t0 = time.time()
    run = run_training(TrainConfig(project=str(proj), run_dir=str(work / f"run-{attention}-{epochs}ep"), preset="paper",
                                   model_preset="demo", backbone="small_cnn", backbone_weights=None,
                                   input_size=input_size, attention=attention, hidden=hidden, dropout=dropout,
                                   epochs=epochs,
                                   lr=lr, lr_step_epoch=int(epochs * 0.75), batch=batch, seed=seed,
                                   val_split="test"), progress=progress)
    seconds = time.time() - t0
    return demo_metrics(run, work, seconds=seconds, n_videos=n_videos, epochs=epochs, attention=attention)


def demo_metrics(run: str | os.PathLike, workdir: str | os.PathLike, *, seconds: float | None = None,
                 n_videos: int | None = None, epochs: int | None = None, attention: str = "human-part") -> dict:
    """Held-out metrics of a demo-recipe run (its ``last.pt``) on ``workdir/project``'s test split."""
    from rpan_core.evaluate import evaluate
    from rpan_core.project import Project

    work, run = Path(workdir), Path(run)
    proj = Project.open(work / "project")
    if seconds is None or epochs is None:
        from rpan_core.runlog import read_events

        ev = read_events(run / "events.jsonl")
        ends = [e for e in ev if e.get("type") == "end"]
        steps = [e for e in ev if e.get("type") == "step"]
        seconds = steps[-1]["elapsed_s"] if steps else 0.0
        epochs = epochs or (ends[-1].get("metrics", {}).get("epoch") if ends else None)
    n_videos = n_videos or len(proj.videos())
    # the last epoch's weights: best.pt is chosen on these same test clips, which would flatter the numbers
    ck = run / "last.pt"
    res = evaluate(ck, proj, "test", png=work / f"confusion-{attention}.png")
    return {"checkpoint": str(ck), "run": str(run), "train_seconds": seconds, "accuracy": res["accuracy"],
            "pck_argmax": (res["pck"] or {}).get("argmax", {}).get("mean"),
            "pck_refined": (res["pck"] or {}).get("refined", {}).get("mean"), "test_videos": res["videos"],
            "train_videos": n_videos - res["videos"], "epochs": epochs, "attention": attention, "eval": res,
            "confusion_png": res.get("confusion_png")}


def write_results_section(name: str, text: str, path: str | os.PathLike = RESULTS_MD) -> Path:
    """Replace (or append) the ``<!-- name:start -->...<!-- name:end -->`` section of docs/results.md."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    body = p.read_text() if p.exists() else ("# Results\n\nGenerated by `scripts/make_demo_assets.py` and "
                                             "`scripts/ablation_table.py`; do not edit by hand.\n")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in body and end in body:
        body = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, body, flags=re.S)
    else:
        body = body.rstrip() + "\n\n" + block + "\n"
    p.write_text(body)
    return p


# ----------------------------------------------------------------------------- rpan demo

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", help="demo project folder (default: $RPAN_DEMO_DIR or ~/.cache/rpan-studio/demo)")
    parser.add_argument("--device", help="cuda or cpu (default: CUDA when available)")


def cli_main(args: argparse.Namespace) -> int:
    from rpan_core.analyze import analyze_video
    from rpan_core.evaluate import evaluate
    from rpan_core.project import Project

    t0 = time.time()
    folder = ensure_demo_project(args.dir)
    project = Project.open(folder)
    videos = project.videos()
    if not videos:
        raise ProjectError(f"the demo project {folder} has no videos; delete the folder and run `rpan demo` again")
    print(f"demo project: {folder} ({len(videos)} synthetic videos), checkpoint {folder.checkpoint}")
    rec = videos[0]
    a = analyze_video(rec.path, folder.checkpoint, project=project, device=args.device)
    print(f"{'cached analysis of' if a.from_cache else 'analyzed'} {Path(rec.path).name}: {a.num_frames} frames, "
          f"predicted {a.video_class} "
          f"({a.video_probs[a.video_pred]:.0%}; true: {rec.action}) -> {a.path}")
    res = evaluate(folder.checkpoint, project, "test", device=args.device)
    pk = res.get("pck") or {}
    print(f"test split ({res['videos']} videos): accuracy {res['accuracy']:.3f}"
          + (f", PCK@0.2 arg-max {pk['argmax']['mean']:.3f}, refined {pk['refined']['mean']:.3f}" if pk else ""))
    print(f"done in {time.time() - t0:.1f} s; open it in the studio with `rpan studio {folder}`")
    return 0


__all__ = ["ensure_demo_project", "demo_checkpoint_path", "demo_dir", "DemoPath", "train_demo_model", "demo_metrics",
           "write_results_section", "configure_parser", "cli_main"]
