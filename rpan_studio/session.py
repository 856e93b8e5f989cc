"""The studio's session: opening projects and videos, analysis, flow, the demo, imports and exports.

Why it has no widgets: these are the things the studio *does* to a project, and
they are the same whoever asks (a menu, a key, a test, the ``--screenshot`` mode).
Every slow step runs through the one :class:`~rpan_studio.workers.TaskRunner`, so
the UI thread never waits; results land in :class:`~rpan_studio.state.StudioState`
and the views follow its signals. A result that arrives for a video no longer
shown is dropped (it stays cached on disk by rpan_core.analyze).

Dialogs ask first (paths, ranges, options) and call these methods with the answer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from rpan_core.analyze import TwoStreamAnalysis
from rpan_core.errors import ProjectError, RPANError
from rpan_core.formats.registry import ImportReport, get_format
from rpan_core.project import Project
from rpan_studio.state import StudioState
from rpan_studio.workers import TaskRunner, TaskWorker

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.demo import DemoPath
    from rpan_studio.state import AnalysisLike
    from rpan_core.flow import FlowVolume
    from rpan_studio.views.overlays import OverlayOptions

__all__ = ["Session", "project_checkpoints", "default_analyze"]


def default_analyze(video_path: str, checkpoint: str, flow_checkpoint: str | None = None,
                    fuse: tuple[float, float] | None = None, **kwargs: Any) -> Any:
    """rpan_core.analyze for one stream, or two (RGB + flow, probabilities fused) with a flow checkpoint."""
    from rpan_core.analyze import analyze_two_stream, analyze_video

    if flow_checkpoint:
        return analyze_two_stream(video_path, checkpoint, flow_checkpoint, fuse, **kwargs)
    return analyze_video(video_path, checkpoint, **kwargs)


def _decoded_with(fn: Callable[..., Any], prior: Any) -> Callable[..., Any]:
    """``fn`` (an analysis function) whose result's poses are decoded with the pose ``prior``
    (:func:`rpan_core.pose_prior.with_pose_prior`, in the worker: it reads every frame's maps once)."""
    import functools

    from rpan_core.pose_prior import with_pose_prior

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return with_pose_prior(fn(*args, **kwargs), prior)

    return run


def _flow_task(video_path: str, cache_dir: str, progress: Callable[[int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> "FlowVolume":
    from rpan_core.flow import FlowParams, compute_flow

    return compute_flow(video_path, cache_dir, FlowParams(), progress=progress, cancel=cancel)


def project_checkpoints(project: Project) -> list[str]:
    """Checkpoints the project knows: best.pt / last.pt of its runs (newest first), then other .pt files in runs/."""
    dirs: list[Path] = [Path(r.path) for r in reversed(project.runs()) if r.path]  # runs() is oldest first
    runs_dir = Path(project.runs_dir)
    if runs_dir.is_dir():
        for d in sorted(runs_dir.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
            if d.is_dir() and d not in dirs:
                dirs.append(d)
    found: list[str] = []
    for d in dirs:
        if d.is_file() and d.suffix == ".pt":
            found.append(str(d))
            continue
        for name in ("best.pt", "last.pt"):
            if (d / name).is_file():
                found.append(str(d / name))
    seen: set[str] = set()
    return [p for p in found if not (p in seen or seen.add(p))]


def shipped_demo_checkpoint(project: Project) -> str | None:
    """The shipped demo checkpoint when it exists and predicts the project's skeleton (else None)."""
    from rpan_core.checkpoint import read_checkpoint
    from rpan_core.demo import demo_checkpoint_path

    path = demo_checkpoint_path()
    if not path.is_file():
        return None
    try:
        info = read_checkpoint(path)[1]
    except RPANError:
        return None
    return str(path) if info.skeleton.name == project.skeleton.name else None


class Session(QObject):
    """What the studio does to the open project (see the module doc). ``analyze_fn`` (tests) replaces rpan_core."""

    videosChanged = pyqtSignal()  # the project's list of videos (or their actions) changed
    labelsChanged = pyqtSignal()  # labels changed outside the undo stack (an import)
    flowReady = pyqtSignal(int, object)  # video id, flow volume
    predictionsChanged = pyqtSignal(int)  # video id: its stored predictions were rewritten (propagation)
    sidesChecked = pyqtSignal(int)  # video id: the flipped-video side check finished (see flipped_xy)
    message = pyqtSignal(str)  # a status-bar line

    #: how long box edits must pause before the moved persons are read again (a drag is many edits)
    REANALYZE_DELAY_MS = 1200

    def __init__(self, state: StudioState, tasks: TaskRunner, analyze_fn: Callable[..., Any] | None = None,
                 parent: QObject | None = None, analyze_person_fn: Callable[..., Any] | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = tasks
        self.analyze_fn = analyze_fn or default_analyze
        self.analyze_person_fn = analyze_person_fn  # None: rpan_core's per-person analysis on crops
        self.align_sides = False  # propagation gives the model's poses the keyframes' left/right (Edit menu)
        self.pose_prior = False  # poses decoded with the limb-length prior learned from the labels (Model menu)
        self.flipped_xy: dict[int, np.ndarray] = {}  # video id -> the model's poses on the mirrored video
        # a person whose box moved is read again on its new crops, once the edits pause (see _boxes_moved)
        self.auto_reanalyze = True
        self._moved_boxes: set[int] = set()
        self._box_timer = QTimer(self)
        self._box_timer.setSingleShot(True)
        self._box_timer.setInterval(self.REANALYZE_DELAY_MS)
        self._box_timer.timeout.connect(self._reanalyze_moved)
        from rpan_studio.commands import notifier

        notifier().boxesChanged.connect(self._boxes_moved)

    # ------------------------------------------------------------------ project
    def open_project(self, project: Project | str | os.PathLike) -> Project:
        """Open a Project (or a project folder); the previous one is closed (its WAL checkpointed)."""
        if not isinstance(project, Project):
            project = Project.open(project)
        self.close_video()
        old = self.state.project
        if old is not None and old is not project:
            old.close()
        if self.state.checkpoint is None:  # before the project is shown: its first video analyzes with it
            latest = project_checkpoints(project)
            if latest:
                self.state.set_checkpoint(latest[0], "latest run")
            else:
                demo = shipped_demo_checkpoint(project)
                if demo is not None:
                    self.state.set_checkpoint(demo, "demo")
                    self.message.emit(f"this project has no trained model yet: using the shipped demo model "
                                      f"({Path(demo).name}); Model > Model card says what it knows")
        self.state.set_project(project)
        return project

    def open_scratch(self, video: str | os.PathLike) -> Project:
        """Open ``video`` without a project: its scratch project (rpan_core.scratch), made or reopened."""
        from rpan_core.scratch import scratch_project

        return self.open_project(scratch_project(video))

    def save_scratch_as(self, folder: str | os.PathLike) -> Project:
        """The open scratch project becomes a real project in ``folder`` (and stays open, at its video)."""
        from rpan_core.scratch import is_scratch, save_scratch_as

        project = self.require_project()
        if not is_scratch(project):
            raise ProjectError(f"this project is already saved in {project.folder}; Save as turns the scratch "
                               "project of an opened video into a real one")
        self.close_video()
        self.state.set_project(None)
        return self.open_project(save_scratch_as(project, folder))

    def create_project(self, folder: str | os.PathLike, skeleton: str, classes: list[str]) -> Project:
        return self.open_project(Project.create(folder, skeleton=skeleton, classes=classes))

    def close_project(self) -> None:
        """Close the open video and project (Project.close checkpoints the WAL into project.db)."""
        self.close_video()
        project = self.state.project
        if project is not None:
            self.state.set_project(None)
            project.close()

    def require_project(self) -> Project:
        if self.state.project is None:
            raise ProjectError("no project is open: create or open one first (File menu)")
        return self.state.project

    def require_video(self) -> tuple[Project, int]:
        if self.state.project is None or self.state.video_id is None:
            raise ProjectError("no video is open: pick one in the Videos list first")
        return self.state.project, self.state.video_id

    def add_videos(self, paths: list[str]) -> list[int]:
        project = self.require_project()
        ids = [project.add_video(p) for p in paths]
        self.videosChanged.emit()
        return ids

    # ------------------------------------------------------------------ video
    def open_video(self, video_id: int) -> None:
        """Make ``video_id`` the open video (decoding is the frame loader's; returns at once)."""
        from rpan_core.video import open_video

        project = self.require_project()
        rec = project.video(video_id)
        video = open_video(rec.path)
        self.close_video()
        self.state.set_video(video_id, video)

    def follow_demo_checkpoint(self, video_id: int) -> None:
        """In the demo project, while the demo's own models are in use: the real clip is shown with the
        real-video model, the synthetic clips with the synthetic demo model."""
        from rpan_core.demo import demo_video_checkpoint

        st = self.state
        if st.project is None or st.checkpoint_origin != "demo":
            return
        ck = demo_video_checkpoint(st.project.folder, st.project.video(video_id).path)
        if ck is not None and str(ck) != st.checkpoint:
            st.set_checkpoint(ck, "demo")

    def close_video(self) -> None:
        video = self.state.video
        if video is not None or self.state.video_id is not None:
            self.state.set_analysis(None)
            self.state.set_video(None, None)
        if video is not None:
            video.close()

    # ------------------------------------------------------------------ analysis and flow
    def analyze(self, checkpoint: str | os.PathLike | None = None) -> TaskWorker:
        """Analyze the open video in a worker (cached results come back fast); the state updates when done.

        A video of several persons is analyzed per person, each on crops around its box
        (:mod:`rpan_studio.person_analysis`); a single-person video (and a two-stream
        analysis) reads the whole frame.
        """
        st = self.state
        if checkpoint is not None:
            st.set_checkpoint(checkpoint, "chosen")
        project, vid = self.require_video()
        if not st.checkpoint:
            raise RPANError("no checkpoint chosen: use Model > Choose checkpoint, or train one first")
        rec = project.video(vid)
        prior = self._pose_prior(project)
        if len(project.persons(vid)) > 1 and not st.two_streams and self._per_person():
            return self._analyze_persons(project, vid, prior)

        def done(analysis: AnalysisLike, vid: int = vid) -> None:
            if vid == st.video_id:  # the person may have moved on; the result stays cached on disk
                st.set_analysis(analysis)

        extra = {"flow_checkpoint": st.flow_checkpoint, "fuse": st.fusion_weights} if st.two_streams else {}
        fn = self.analyze_fn if prior is None else _decoded_with(self.analyze_fn, prior)
        return self.tasks.run("analyze", fn, str(rec.path), st.checkpoint, project=project, **extra,
                              on_done=done, label=f"analyzing {Path(rec.path).name}")

    def _pose_prior(self, project: Project) -> Any:
        """The limb-length prior to decode with (learned from the project's labels, here on the UI thread: a few
        label reads), or None: off, two streams, or no labels to learn from (then said on the status bar)."""
        if not self.pose_prior:
            return None
        if self.state.two_streams:
            self.message.emit("the limb-length prior decodes one stream: two streams are shown as they read")
            return None
        from rpan_core.pose_prior import PriorError, prior_from_project

        try:
            return prior_from_project(project)
        except PriorError as exc:
            self.message.emit(f"poses decoded without the limb-length prior: {exc}")
            return None

    def _per_person(self) -> bool:
        from rpan_studio.person_analysis import per_person_available

        return self.analyze_person_fn is not None or per_person_available()

    def _boxes_moved(self, project: Any, vid: int, person: int) -> None:
        """A person's box keyframes changed (drawn, dragged, removed, undone, identities swapped).

        Why: its analysis was read on crops around the old boxes, so the heat map and pose
        on screen no longer answer the box the user just gave. When the video is shown
        analyzed per person, the moved persons are read again in the worker once the edits
        pause (the others keep their readings; the core's cache is keyed by the boxes, so
        undoing a move brings the old reading back at once)."""
        st = self.state
        if (not self.auto_reanalyze or project is not st.project or int(vid) != st.video_id
                or not st.person_analyses or not st.checkpoint):
            return
        self._moved_boxes.add(int(person))
        self._box_timer.start()

    def _reanalyze_moved(self) -> TaskWorker | None:
        from rpan_studio.person_analysis import analyze_persons, person_boxes_of, persons_without_box

        moved, self._moved_boxes = self._moved_boxes, set()
        st = self.state
        if st.project is None or st.video_id is None or not st.person_analyses or not st.checkpoint:
            return None
        project, vid = st.project, st.video_id
        boxes = {p: b for p, b in person_boxes_of(project, vid).items() if p in moved}
        boxes = {p: b for p, b in boxes.items() if p not in persons_without_box(boxes)}
        if not boxes:
            return None
        names = ", ".join(project.person(vid, p).name for p in sorted(boxes))

        def done(analyses: dict[int, Any], vid: int = vid) -> None:
            if vid == st.video_id and st.person_analyses:
                st.set_person_analyses({**st.person_analyses, **analyses})  # the moved persons' new readings
                self.message.emit(f"{names} read again on the moved box")

        rec = project.video(vid)
        return self.tasks.run("reanalyze_boxes", analyze_persons, str(rec.path), st.checkpoint, boxes,
                              project=project, analyze_person_fn=self.analyze_person_fn,
                              prior=self._pose_prior(project), on_done=done,
                              label=f"reading {names} again on the moved box")

    def _analyze_persons(self, project: Project, vid: int, prior: Any = None) -> TaskWorker:
        from rpan_studio.person_analysis import analyze_persons, person_boxes_of, persons_without_box

        st = self.state
        rec = project.video(vid)
        boxes = person_boxes_of(project, vid)  # a few reads per person, before the worker starts
        missing = persons_without_box(boxes)
        names = ", ".join(project.person(vid, p).name for p in missing)
        if len(missing) == len(boxes):
            raise RPANError(f"no person of this video has a box yet ({names}): draw each person's box (Shift+drag "
                            "on the frame) or label one of its frames, then analyze again")
        if missing:
            self.message.emit(f"not analyzed, no box on any frame: {names}; draw its box (Shift+drag) and analyze "
                              "again")
            boxes = {p: b for p, b in boxes.items() if p not in missing}

        def done(analyses: dict[int, Any], vid: int = vid) -> None:
            if vid == st.video_id:  # the person may have moved on; the results stay cached on disk
                st.set_person_analyses(analyses)

        return self.tasks.run("analyze", analyze_persons, str(rec.path), st.checkpoint, boxes, project=project,
                              analyze_person_fn=self.analyze_person_fn, prior=prior, on_done=done,
                              label=f"analyzing {len(boxes)} persons of {Path(rec.path).name}, each on its crop")

    def propagate(self) -> TaskWorker:
        """Fill the selected person's frames between its keyframes (rpan_core.propagate) in a worker, as its
        predictions.

        The model's poses are blended with interpolation when there is a reading of this
        person: the analysis on screen when it reads the selected person (its own crop
        analysis, or the whole frame's for person 1), else, for person 1, the current
        checkpoint's whole-frame analysis (made in the worker). Another person without
        its own analysis is interpolated. With ``align_sides`` the model's poses first take
        the keyframes' left/right. Labels are never touched.
        """
        from rpan_core.propagate import propagate_video

        st = self.state
        project, vid = self.require_video()
        person = st.person
        name = project.person(vid, person).name
        if len(project.labeled_frames(vid, person)) < 2:
            raise RPANError(f"propagation fills the frames between keyframes: label at least two frames of {name} "
                            "first")

        def done(prop: Any, vid: int = vid) -> None:
            self.predictionsChanged.emit(vid)
            self.message.emit(f"{int(prop.filled.any(axis=1).sum())} frames of {name} predicted by {prop.method}; "
                              "accept or correct them (A, Shift+A)")

        if st.analysis_reads(person):  # the poses on screen are this person's
            model: dict[str, Any] = {"analysis": st.analysis}
        elif person == 1 and not st.person_analyses:  # the whole frame's reading is person 1's
            model = {"checkpoint": st.checkpoint}
        else:
            model = {}
        if model:
            model["align"] = self.align_sides
        return self.tasks.run("propagate", propagate_video, project, vid, **model, person=person, on_done=done,
                              label=f"propagating the keyframes of {name}")

    def check_sides(self) -> TaskWorker:
        """Run the model on the mirrored video in a worker; its doubts join the review queue."""
        from rpan_core.sides import flipped_poses

        project, vid = self.require_video()
        if not self.state.checkpoint:
            raise RPANError("the left/right check runs the model on the mirrored video: choose a checkpoint first")

        def done(xy: np.ndarray, vid: int = vid) -> None:
            self.flipped_xy[vid] = xy
            self.sidesChecked.emit(vid)

        return self.tasks.run("check_sides", flipped_poses, str(project.video(vid).path), self.state.checkpoint,
                              project=project, on_done=done, label="checking left/right on the mirrored video")

    def reanalyze(self) -> None:
        """Analyze again when a video is open and a checkpoint is set (after the model settings changed)."""
        if self.state.video_id is not None and self.state.checkpoint:
            self.analyze()

    def select_stream(self, stream: str) -> None:
        """Show the RGB or the flow stream's attention and poses of a two-stream analysis."""
        a = self.state.analysis
        if isinstance(a, TwoStreamAnalysis) and a.shown != stream:
            self.state.set_analysis(a.select(stream), self.state.analysis_person or 1)

    def compute_flow(self, have: tuple[int, Any] | None = None) -> TaskWorker | None:
        """The open video's optical flow (from the project's flow cache when there) in a worker; flowReady when done."""
        st = self.state
        if st.project is None or st.video_id is None:
            return None
        if have is not None and have[0] == st.video_id and have[1] is not None:
            return None
        rec = st.project.video(st.video_id)

        def done(volume: FlowVolume, vid: int = st.video_id) -> None:
            if vid == st.video_id:
                self.flowReady.emit(vid, volume)

        return self.tasks.run("flow", _flow_task, str(rec.path), str(st.project.flow_dir), on_done=done,
                              label=f"optical flow of {Path(rec.path).name}")

    def training_finished(self, checkpoint: str) -> None:
        self.state.set_checkpoint(checkpoint, "trained")

    # ------------------------------------------------------------------ demo
    def open_demo(self) -> TaskWorker:
        """Build (or find) the demo project in a worker, then open it with its checkpoint."""
        from rpan_core.demo import ensure_demo_project

        def opened(folder: DemoPath) -> None:
            checkpoint = folder.checkpoint
            try:
                if checkpoint:
                    self.state.set_checkpoint(checkpoint, "demo")
                self.open_project(Path(folder))
            except RPANError as exc:
                self.tasks.failed.emit(str(exc))

        return self.tasks.run("demo", ensure_demo_project, label="preparing the demo project", on_done=opened,
                              cancellable=False)

    # ------------------------------------------------------------------ formats
    def import_annotations(self, name: str, path: str | os.PathLike) -> TaskWorker:
        """Import a dataset's annotations (rpan_core.formats.registry) in a worker."""
        project = self.require_project()
        fmt = get_format("import", name)

        def done(report: ImportReport) -> None:
            self.videosChanged.emit()
            self.labelsChanged.emit()
            self.message.emit("; ".join([report.summary()] + report.notes))

        return self.tasks.run("import", fmt.run, project, str(path), label=f"importing {name}", on_done=done)

    def export_labels(self, name: str, path: str | os.PathLike) -> TaskWorker:
        """Export the project's labels (rpan_core.formats.registry) in a worker."""
        project = self.require_project()
        fmt = get_format("export", name)
        return self.tasks.run("export_labels", fmt.run, project, str(path), label=f"exporting {name}",
                              on_done=lambda out: self.message.emit(f"exported to {out}"))

    def model_warnings(self) -> list[str]:
        """Why the current model's output on the open video is not an estimate (empty: nothing to say).

        One rule for every place that shows the model's output: the banner over the view and the
        exported overlay video both withhold action names when this is not empty.
        """
        from rpan_core.model_card import mismatch_warnings, video_origin
        from rpan_studio.dialogs.model_card import read_card

        st = self.state
        if st.project is None or st.video_id is None or not st.checkpoint:
            return []
        card, _err = read_card(st.checkpoint)
        rec = st.project.video(st.video_id)
        return mismatch_warnings(card, rec.width, rec.height, video_origin(rec.path))

    def export_video(self, path: str | os.PathLike, opts: "OverlayOptions", start: int = 0,
                     stop: int | None = None) -> TaskWorker:
        """Write the open video with the overlays ``opts`` to mp4 in a worker (action captions withheld where
        the banner withholds them: the warnings are burned in instead). In a video analyzed per person the
        other persons' poses, boxes and names are burned in too, in their colours."""
        import copy

        from rpan_studio.export import export_overlay_video

        from rpan_studio.person_commands import person_colour

        project, vid = self.require_video()
        rec = project.video(vid)
        edges = list(project.skeleton.edges)
        st = self.state
        names = {int(p.id): p.name for p in project.persons(vid)}
        others = [(a, person_colour(pid), names.get(pid, f"person {pid}")) for pid, a in sorted(st.person_analyses.items())
                  if pid != st.person and a is not None]  # everyone the studio shows, the selected one on top
        return self.tasks.run("export_video", export_overlay_video, str(rec.path), st.analysis, str(path),
                              opts=copy.deepcopy(opts), edges=edges, start=start, stop=stop, others=others,
                              warnings=self.model_warnings(), label="exporting video",
                              on_done=lambda p: self.message.emit(f"wrote {p}"))

    def export_confusion(self, path: str | os.PathLike) -> TaskWorker:
        """Evaluate the checkpoint on the test split in a worker and save its confusion matrix as PNG."""
        st = self.state
        if st.project is None or not st.checkpoint:
            raise RPANError("the confusion matrix needs a project and a checkpoint; open one and train first")
        return self.tasks.run("confusion", _confusion_png, st.checkpoint, str(st.project.folder), str(path),
                              label="evaluating", cancellable=False,
                              on_done=lambda p: self.message.emit(f"wrote {p}"))

    # ------------------------------------------------------------------ closing
    def shutdown(self, wait_ms: int = 10000) -> None:
        """Cancel and wait for the tasks, then close the video and the project."""
        self.tasks.cancel_all()
        self.tasks.wait_all(wait_ms)
        self.close_project()


def _confusion_png(checkpoint: str, project_folder: str, out: str) -> Path:
    from rpan_core.evaluate import evaluate
    from rpan_studio.export import confusion_from_result, save_confusion_png

    with Project.open(project_folder) as project:  # this thread's own connection
        m, classes = confusion_from_result(evaluate(checkpoint, project, split="test"))
    return save_confusion_png(m, classes, out)


def predicted_visible(analysis: AnalysisLike | None, start: int, stop: int) -> np.ndarray | None:
    """The model's visibility for frames start..stop-1: its dummy-cell mass below the threshold."""
    from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

    if analysis is None:
        return None
    dummy = analysis.dummy
    return np.asarray(dummy[start:stop], dtype=np.float32) < DEFAULT_DUMMY_THRESHOLD
