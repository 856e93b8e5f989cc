"""The current frame on screen: seeking, the decoded image, and the overlays that belong to it.

Why the overlays are set in the same call that shows a decoded frame: the heat
map, the estimated skeleton, the caption, the flow layer and the editor's
annotated pose are drawn from the index of the frame that was decoded, so what is
drawn always belongs to the image under it, however fast the person scrubs.
Seeking moves the state's frame and every cursor at once; the image follows when
the :class:`~rpan_studio.workers.FrameLoader` (latest request wins) has it.

It also keeps the per-frame bookkeeping the navigation keys use: which frames are
labeled, which have only a model pose, which are the model's least sure; and the
video's stored predictions (``rpan propagate``, the Propagate command), which are
shown and accepted in place of the analysis' pose on the frames they cover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from rpan_studio.export import caption_for
from rpan_studio.person_analysis import analysis_window
from rpan_studio.session import predicted_visible
from rpan_studio.state import StudioState
from rpan_studio.views.flow_layer import FlowLayer
from rpan_studio.views.overlays import OverlayOptions, confidence_scale, normalized_confidence
from rpan_studio.views.pose_editor import PoseEditor
from rpan_studio.views.video_view import VideoView
from rpan_studio.workers import FrameLoader

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import PredictionArrays
    from rpan_studio.state import AnalysisLike

__all__ = ["FrameDisplay", "low_confidence_frames", "LOW_CONF_QUANTILE"]

LOW_CONF_QUANTILE = 0.1  # "low-confidence" frames: the lowest 10% of mean joint confidence


def low_confidence_frames(mean_conf: np.ndarray, fraction: float = LOW_CONF_QUANTILE) -> np.ndarray:
    """Sorted frames among the least confident ``fraction`` (by rank), strictly below the median.

    The median cut keeps a video whose frames are nearly all equally sure from
    listing arbitrary frames as "low confidence".
    """
    c = np.asarray(mean_conf, dtype=np.float64)
    if c.size == 0:
        return np.zeros(0, np.int64)
    k = max(1, int(np.ceil(fraction * c.size)))
    lowest = np.argsort(c, kind="stable")[:k]
    return np.sort(lowest[c[lowest] < np.median(c)])


class FrameDisplay(QObject):
    """Seeks, shows decoded frames with their overlays, and knows the labeled / low-confidence frames."""

    frameShown = pyqtSignal(int)  # a decoded frame is on screen with its overlays
    proxyStatus = pyqtSignal(str)  # the display proxy's build, for the status bar

    #: build each video's display proxy in the background (rpan_core.proxy) when it is opened
    build_proxies: bool = True
    #: the proxy's long side in pixels (None: rpan_core.proxy.DEFAULT_LONG_SIDE)
    proxy_long_side: int | None = None
    frameFailed = pyqtSignal(int, str)  # the current frame cannot be decoded
    statesChanged = pyqtSignal(object)  # per-frame states (uint8: 0 none, 1 predicted, >= 2 labeled)

    def __init__(self, state: StudioState, view: VideoView, editor: PoseEditor, flow_layer: FlowLayer,
                 cursors: Sequence[Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.view = view
        self.editor = editor
        self.flow_layer = flow_layer
        self.cursors = list(cursors)  # widgets with set_frame(frame): seek bar, plots
        self.states = np.zeros(0, np.uint8)
        self.labeled = np.zeros(0, np.int64)
        self.low_conf_frames = np.zeros(0, np.int64)
        self._conf_scale = 1.0
        self.untrusted = False  # the model card says this video is far from the model's training data
        self.layers: list[Any] = []  # more overlays with show(frame) (the persons' boxes and skeletons)
        self.stored: PredictionArrays | None = None  # the selected person's stored predictions in the open video
        self.loader = FrameLoader(self)
        self.loader.frameReady.connect(self._on_frame_ready)
        self.loader.frameNearest.connect(self._on_frame_nearest)
        self._proxy_timer = QTimer(self)
        self._proxy_timer.setInterval(500)
        self._proxy_timer.timeout.connect(self._poll_proxy)
        self._proxy_reported = False
        view.view_box.sigRangeChanged.connect(self._zoom_changed)
        self.loader.frameFailed.connect(self._on_frame_failed)
        state.videoChanged.connect(self._video_changed)
        state.analysisChanged.connect(self._analysis_changed)
        state.overlayChanged.connect(self._overlay_changed)
        state.personChanged.connect(self._person_changed)

    # ------------------------------------------------------------------ seeking
    def seek(self, frame: int) -> None:
        """Make ``frame`` current: cursors move now, the frame and overlays follow when decoded."""
        if not self.state.set_frame(frame):
            return
        for w in self.cursors:
            w.set_frame(self.state.frame)
        self.loader.request(self.state.frame)

    def jump(self, kind: str, direction: int = 1) -> int | None:
        """The next (1) or previous (-1) labeled / unlabeled / low-confidence frame, seeked to; None if none."""
        if kind == "labeled":
            cand = self.labeled
        elif kind == "unlabeled":
            cand = np.flatnonzero(self.states < 2)
        elif kind == "lowconf":
            cand = self.low_conf_frames
        else:
            raise ValueError(f"unknown jump kind {kind!r}")
        cand = np.asarray(cand)
        frame = self.state.frame
        nxt = cand[cand > frame] if direction > 0 else cand[cand < frame]
        if len(nxt) == 0:
            return None
        target = int(nxt[0] if direction > 0 else nxt[-1])
        self.seek(target)
        return target

    def shown(self) -> bool:
        """The current frame is on screen (decoded, with its overlays)."""
        return self.view.frame_index is not None and self.view.frame_index == self.state.frame

    # ------------------------------------------------------------------ state changes
    def reload_predictions(self) -> None:
        """Re-read the selected person's stored predictions (after a propagation, another person) and redraw."""
        self._read_stored()
        self.refresh_states()
        if self.shown():
            self.render(self.state.frame)

    def _read_stored(self) -> None:
        st = self.state
        self.stored = None
        if st.project is not None and st.video_id is not None:
            pr = st.project.predictions(st.video_id, person=st.person)
            self.stored = pr if len(pr.frames) else None

    def _stored_row(self, index: int) -> int | None:
        s = self.stored
        if s is None:
            return None
        i = int(np.searchsorted(s.frames, index))
        return i if i < len(s.frames) and s.frames[i] == index else None

    def _video_changed(self, video_id: int | None) -> None:
        self._read_stored()
        self.loader.set_video(self.state.video)
        self.loader.exact_wanted = False
        self.view.frame_size = None
        self._start_proxy()
        if video_id is None:
            self.flow_layer.set_volume(None)
            self.view.clear_frame()
            self.editor.set_context(self.state.project, None, 0, None)
        self.refresh_states()

    def _analysis_changed(self, analysis: AnalysisLike | None) -> None:
        if analysis is None:
            self.low_conf_frames = np.zeros(0, np.int64)
            self._conf_scale = 1.0
        else:
            conf = np.asarray(analysis.conf, dtype=np.float32)
            self._conf_scale = confidence_scale(conf)
            self.low_conf_frames = low_confidence_frames(conf.mean(axis=1))
            for w in self.cursors:
                w.set_frame(max(0, self.state.frame))
        self.refresh_states()
        if (analysis is not None or self.state.person_analyses) and self.view.frame_index == self.state.frame:
            self.render(self.state.frame)

    def _person_changed(self, person: int) -> None:
        """The timeline, the labeled frames (navigation, review queue), the stored predictions and the editor
        follow the person."""
        self.editor.set_person(person)
        self._read_stored()
        self.refresh_states()
        if self.shown():
            self.render(self.state.frame)

    def _overlay_changed(self, opts: OverlayOptions) -> None:
        self.view.opts = opts
        if self.shown():
            self.render(self.state.frame)

    def refresh_states(self) -> None:
        """Re-read the frame states from the store (a frame with a model pose and no label is "predicted")."""
        st_ = self.state
        if st_.project is None or st_.video_id is None:
            return
        st = np.asarray(st_.project.frame_states(st_.video_id, st_.person), dtype=np.uint8).copy()
        if len(st) < st_.n_frames:
            st = np.pad(st, (0, st_.n_frames - len(st)))
        if st_.analysis_reads():  # frames the model read this person on (a whole-frame analysis: person 1)
            t = min(len(st), int(np.asarray(st_.analysis.probs).shape[0]))
            st[:t][st[:t] == 0] = 1
        self.states = st
        self.labeled = np.flatnonzero(st >= 2)
        self.statesChanged.emit(st)

    # ------------------------------------------------------------------ display proxy
    def _start_proxy(self) -> None:
        """Attach the video's display proxy, or start building it in a background thread (UI usable)."""
        self._proxy_timer.stop()
        video = self.state.video
        if video is None or not self.build_proxies or not hasattr(video, "use_proxy"):
            return
        from rpan_core.proxy import proxy_root

        if video.use_proxy(proxy_root(self.state.project), long_side=self.proxy_long_side):
            return
        if video.proxy_builder is not None:
            self._proxy_reported = False
            self._proxy_timer.start()

    def _poll_proxy(self) -> None:
        video = self.state.video
        b = getattr(video, "proxy_builder", None)
        if b is None:
            self._proxy_timer.stop()
            return
        if not b.finished:
            pct = f" {100 * b.done // b.total}%" if b.total else ""
            self.proxyStatus.emit(f"building the display proxy for fast seeking{pct} (the studio stays usable)")
            return
        self._proxy_timer.stop()
        if b.error is not None:
            self.proxyStatus.emit(f"display proxy not built ({b.error}); seeking decodes the video")
        elif video.proxy is not None and not self._proxy_reported:
            self._proxy_reported = True
            self.proxyStatus.emit(f"display proxy ready ({video.proxy.size_bytes / 2 ** 20:.0f} MB): seeks are instant")

    def _zoom_changed(self, *_: object) -> None:
        """Ask for the exact full-resolution frame when zoomed in beyond the proxy's resolution."""
        video = self.state.video
        proxy = getattr(video, "proxy", None)
        want = False
        if proxy is not None and proxy.scale < 1.0:
            (x0, x1), _ = self.view.view_box.viewRange()
            screen_px = self.view.view_box.width() * self.view.devicePixelRatioF()
            want = screen_px / max(1e-6, x1 - x0) > 1.1 * proxy.scale
        if want != self.loader.exact_wanted:
            self.loader.exact_wanted = want
            if want and self.view.frame_index == self.state.frame:
                self.loader.request(self.state.frame)  # the exact frame replaces the proxy's

    def _video_size(self) -> tuple[int, int] | None:
        v = self.state.video
        return (int(v.height), int(v.width)) if v is not None else None

    # ------------------------------------------------------------------ drawing
    def _on_frame_nearest(self, index: int, source: int, image: np.ndarray) -> None:
        """No proxy yet and frame ``index`` not decoded: the nearest decoded frame, marked, until it is."""
        if index != self.state.frame:
            return
        self.view.set_frame(source, image, self._video_size())  # frame_index = source: not "shown"
        self.view.set_heat(None)
        self.view.set_pose(None, None)
        self.editor.setVisible(False)  # the annotated pose belongs to frame ``index``, not to this image
        for layer in self.layers:  # so do the persons' boxes and skeletons
            layer.hide_all()
        self.view.set_caption(f"frame {index}: decoding...  (showing the nearest decoded frame, {source})")

    def _on_frame_ready(self, index: int, image: np.ndarray) -> None:
        if index != self.state.frame:  # overtaken by a newer request: never show a stale frame
            return
        self.view.set_frame(index, image, self._video_size())
        self.render(index)
        self.frameShown.emit(index)

    def _on_frame_failed(self, index: int, message: str) -> None:
        if index == self.state.frame:
            self.view.set_caption(f"frame {index}: cannot be decoded")
            self.frameFailed.emit(index, message)

    def _analysis_covers(self, index: int, reads_person: bool = True) -> bool:
        """The shown analysis covers frame ``index`` (and, with ``reads_person``, reads the selected person)."""
        a = self.state.analysis
        if a is None or index >= int(np.asarray(a.probs).shape[0]):
            return False
        return self.state.analysis_reads() if reads_person else True

    def prediction(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The selected person's predicted pose and confidence on frame ``index``: its stored prediction where
        there is one (joints it lacks from the analysis), else the analysis' when the analysis reads this
        person (None when neither covers the frame)."""
        a = self.state.analysis
        have_a = self._analysis_covers(index)
        row = self._stored_row(index)
        if row is None:
            if not have_a:
                return None
            return np.asarray(a.xy[index], dtype=np.float64), np.asarray(a.conf[index], dtype=np.float64)
        s = self.stored
        xy, conf = s.xy[row].copy(), s.conf[row].copy()
        if have_a:
            miss = ~s.filled[row]
            xy[miss], conf[miss] = np.asarray(a.xy[index], np.float64)[miss], np.asarray(a.conf[index])[miss]
        return xy, conf

    def predicted_visible(self, start: int, stop: int) -> np.ndarray | None:
        """The selected person's predicted visibility for frames start..stop-1 (stored where stored, else the
        model's own when the analysis reads this person)."""
        vis = predicted_visible(self.state.analysis, start, stop) if self.state.analysis_reads() else None
        if self.stored is None:
            return vis
        n = stop - start
        J = self.stored.xy.shape[1]
        out = np.ones((n, J), bool) if vis is None or len(vis) < n else np.array(vis[:n], bool)
        for k in range(n):
            row = self._stored_row(start + k)
            if row is not None:
                f = self.stored.filled[row]
                out[k, f] = self.stored.visible[row, f]
        return out

    def predictions_range(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Poses (F x J x 2, NaN where none), confidences and visibility of frames start..stop-1."""
        J = self.state.project.skeleton.num_joints if self.state.project is not None else 0
        xy, conf = np.full((stop - start, J, 2), np.nan), np.zeros((stop - start, J))
        for k, f in enumerate(range(start, stop)):
            p = self.prediction(f)
            if p is not None:
                xy[k], conf[k] = p
        return xy, conf, self.predicted_visible(start, stop)

    def render(self, index: int) -> None:
        """Draw frame ``index``'s overlays over the image on screen."""
        pred = self.prediction(index)  # the selected person's: offered to the editor
        a = self.state.analysis
        covered = self._analysis_covers(index, reads_person=False)
        if pred is not None and not covered:
            self.view.set_heat(None)  # a stored prediction (propagated) on a frame no analysis covers
            vis = self.predicted_visible(index, index + 1)
            self.view.set_pose(pred[0], normalized_confidence(pred[1]), None if vis is None else ~vis[0])
            self.view.set_caption(f"frame {index}   (propagated)")
        elif covered:
            if not self.state.person_analyses:  # (several persons' maps are drawn together below)
                self.view.set_heat(np.asarray(a.attention[index], dtype=np.float32), analysis_window(a, index),
                                   getattr(a, "input_size", None))
            if pred is not None:
                conf = normalized_confidence(pred[1] / self._conf_scale)
                occluded = self.predicted_visible(index, index + 1)
                self.view.set_pose(pred[0], conf, None if occluded is None else ~occluded[0])
            else:  # the whole frame's reading while another person is selected: shown, not offered to edit
                self.view.set_pose(np.asarray(a.xy[index], np.float64),
                                   normalized_confidence(np.asarray(a.conf[index], np.float64) / self._conf_scale),
                                   ~predicted_visible(a, index, index + 1)[0])
            if self.untrusted:  # the banner says why; no action names dressed up as estimates
                self.view.set_caption(f"frame {index}   (not an estimate here: see the banner)")
            elif len(a.classes) < 2:  # a pose-only model: no action to name
                self.view.set_caption(f"frame {index}   {caption_for(a.probs[index], a.classes)}")
            else:
                self.view.set_caption(f"frame {index}   {caption_for(a.probs[index], a.classes)}"
                                      f"   (video: {_video_caption(a)})")
        else:
            self.view.set_heat(None)
            self.view.set_pose(None, None)
            self.view.set_caption(f"frame {index}" + ("" if a is not None else "   (not analyzed)"))
        if self.state.person_analyses:  # every person's heat map, each through its own crop
            self.view.set_heats(self.person_heat_layers(index))
        self.editor.person = self.state.person
        # only the selected person's own prediction is offered for editing (a whole-frame reading is person 1's)
        self.editor.set_context(self.state.project, self.state.video_id, index, pred)
        self.editor.setVisible(self.state.overlay.annotation)
        for layer in self.layers:
            layer.show(index)
        self.flow_layer.show(index)

    def person_heat_layers(self, index: int) -> list[tuple[np.ndarray, np.ndarray | None, Any]]:
        """(attention, window, input size) of frame ``index`` for every person analyzed on its crops."""
        out = []
        for a in self.state.person_analyses.values():
            if index < int(np.asarray(a.probs).shape[0]):
                out.append((np.asarray(a.attention[index], np.float32), analysis_window(a, index),
                            getattr(a, "input_size", None)))
        return out

    def stop(self) -> None:
        self._proxy_timer.stop()
        self.loader.stop()


def _video_caption(a: AnalysisLike) -> str:
    c = int(a.video_pred)
    name = a.classes[c] if c < len(a.classes) else str(c)
    return f"{name} {100 * float(np.asarray(a.video_probs)[c]):.0f}%"
