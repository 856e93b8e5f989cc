"""StudioState: everything the studio is looking at, in one typed, observable object.

Why one object: the GUI state used to be spread over window attributes, class
attributes read with ``getattr`` fallbacks, widget values copied into the video
view's options and the pose editor's own copies. Here each value has one home, a
setter that validates it once (a checkpoint when it is chosen, not again wherever
it is used) and a change signal; views read it and listen, the session writes it.

Values: the open :class:`~rpan_core.project.Project`, the open video (its id,
the :class:`~rpan_core.video.Video`, its frame count), the current frame, the
selected person (its id in the video; 1 in a single-person video), the
analysis shown (an ``Analysis`` or a ``TwoStreamAnalysis``), the RGB and flow
checkpoints (with where the RGB one came from, so the Train dialog can name it),
the stream fusion weights and the overlay options.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from PyQt6.QtCore import QObject, pyqtSignal

from rpan_core.errors import CheckpointError, ConfigError
from rpan_core.fusion import DEFAULT_WEIGHTS
from rpan_studio.views.overlays import OverlayOptions

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.analyze import Analysis, TwoStreamAnalysis
    from rpan_core.project import Project
    from rpan_core.video import Video

    AnalysisLike = Union[Analysis, TwoStreamAnalysis]  # what the studio shows: one stream or two fused

__all__ = ["StudioState", "CheckpointOrigin", "validate_checkpoint"]

#: where the current checkpoint came from (the Train dialog says so instead of calling every one "demo")
CheckpointOrigin = Literal["given", "demo", "chosen", "trained", "latest run"]


def validate_checkpoint(path: str | os.PathLike, what: str = "checkpoint") -> str:
    """The checkpoint path as a string, or a CheckpointError saying why it cannot be used."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{what} {p} is not a file; choose an existing .pt file (Model > Choose checkpoint) "
                              "or train one")
    return str(p)


class StudioState(QObject):
    """The studio's one state object (see the module doc); every setter emits its signal on a change."""

    projectChanged = pyqtSignal(object)  # Project | None
    videoChanged = pyqtSignal(object)  # video id | None
    frameChanged = pyqtSignal(int)
    personChanged = pyqtSignal(int)  # the selected person's id in the open video
    analysisChanged = pyqtSignal(object)  # Analysis | TwoStreamAnalysis | None
    checkpointChanged = pyqtSignal(object)  # str | None
    flowCheckpointChanged = pyqtSignal(object)  # str | None
    fusionWeightsChanged = pyqtSignal(tuple)
    overlayChanged = pyqtSignal(object)  # OverlayOptions

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.video_id: int | None = None
        self.video: Video | None = None
        self.n_frames = 0
        self.frame = 0
        self.person = 1  # the person the editor, timeline, review queue and joint list follow
        self.analysis: AnalysisLike | None = None
        self.analysis_person: int | None = None  # whose poses ``analysis`` reads (a whole-frame one: person 1)
        self.person_analyses: dict[int, AnalysisLike] = {}  # a video of several persons analyzed per person
        self.checkpoint: str | None = None
        self.checkpoint_origin: CheckpointOrigin | None = None
        self.flow_checkpoint: str | None = None
        self.fusion_weights: tuple[float, float] = tuple(DEFAULT_WEIGHTS)  # type: ignore[assignment]
        self.overlay = OverlayOptions()

    # ------------------------------------------------------------------ project / video / frame
    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.projectChanged.emit(project)

    def set_video(self, video_id: int | None, video: Video | None) -> None:
        """The open video (None, None: none); the frame goes back to 0 and the analysis is dropped."""
        self.video_id = None if video_id is None else int(video_id)
        self.video = video
        self.n_frames = int(video.frame_count) if video is not None else 0
        self.frame = -1  # nothing shown yet: the first seek always moves
        self.person = 1
        self.person_analyses = {}
        self.videoChanged.emit(self.video_id)

    def set_frame(self, frame: int) -> bool:
        """Make ``frame`` current (clipped to the video); False when it already was."""
        if self.video is None or self.n_frames == 0:
            return False
        frame = max(0, min(int(frame), self.n_frames - 1))
        if frame == self.frame:
            return False
        self.frame = frame
        self.frameChanged.emit(frame)
        return True

    def set_person(self, person: int) -> bool:
        """Select the person (an id of the open video's persons); False when it already was."""
        person = int(person)
        if person < 1:
            raise ConfigError(f"person ids start at 1, got {person}")
        if person == self.person:
            return False
        self.person = person
        follow = bool(self.person_analyses)  # per-person analyses: the shown one follows the selection
        if follow:
            self.analysis = self.person_analyses.get(person)
            self.analysis_person = None if self.analysis is None else person
        self.personChanged.emit(person)
        if follow:
            self.analysisChanged.emit(self.analysis)
        return True

    def set_analysis(self, analysis: AnalysisLike | None, person: int = 1) -> None:
        """The analysis shown (its plots, heat map, poses); ``person``: whose poses it reads (a whole-frame
        analysis reads person 1, the only person of a single-person video). Per-person analyses are dropped."""
        self.person_analyses = {}
        self._set_analysis(analysis, person)

    def _set_analysis(self, analysis: AnalysisLike | None, person: int) -> None:
        self.analysis = analysis
        self.analysis_person = None if analysis is None else int(person)
        self.analysisChanged.emit(analysis)

    def set_person_analyses(self, analyses: dict[int, AnalysisLike]) -> None:
        """Every person's own analysis (on crops around its box); the selected person's is the one shown,
        and it follows the selection. An empty dict goes back to no analysis."""
        self.person_analyses = {int(k): v for k, v in analyses.items()}
        self._set_analysis(self.person_analyses.get(self.person), self.person)

    def analysis_reads(self, person: int | None = None) -> bool:
        """The shown analysis reads ``person``'s poses (default: the selected person)."""
        p = self.person if person is None else int(person)
        return self.analysis is not None and self.analysis_person == p

    # ------------------------------------------------------------------ model
    def set_checkpoint(self, path: str | os.PathLike | None, origin: CheckpointOrigin = "chosen") -> None:
        """The RGB (or only) checkpoint; validated here, once (CheckpointError when it is not a file)."""
        self.checkpoint = validate_checkpoint(path) if path else None
        self.checkpoint_origin = origin if path else None
        self.checkpointChanged.emit(self.checkpoint)

    def set_flow_checkpoint(self, path: str | os.PathLike | None) -> None:
        """The flow stream's checkpoint (two streams from now on), or None for one stream."""
        self.flow_checkpoint = validate_checkpoint(path, "flow checkpoint") if path else None
        self.flowCheckpointChanged.emit(self.flow_checkpoint)

    def set_fusion_weights(self, weights: tuple[float, float]) -> None:
        w = tuple(float(v) for v in weights)
        if len(w) != 2 or min(w) < 0 or sum(w) <= 0:
            raise ConfigError(f"fusion weights must be two non-negative numbers, not both 0; got {weights!r}")
        self.fusion_weights = w  # type: ignore[assignment]
        self.fusionWeightsChanged.emit(w)

    @property
    def two_streams(self) -> bool:
        return self.flow_checkpoint is not None

    # ------------------------------------------------------------------ overlays
    def set_overlay(self, **changes: object) -> None:
        """Change some overlay options (the OverlayOptions field names)."""
        self.overlay = replace(self.overlay, **changes)  # type: ignore[arg-type]
        self.overlayChanged.emit(self.overlay)
