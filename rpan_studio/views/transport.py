"""The transport under the frame: step / jump / play buttons, the frame number, the seek bar, the play clock.

Why playback is a clock and not a frame counter: a QTimer that advanced one frame
per tick would fall behind whenever a decode is slow. :class:`PlayClock` computes
the frame from the wall clock at each tick (twice per frame period) and seeks
there, so frames the decoder could not keep up with are skipped, never queued.
"""

from __future__ import annotations

from typing import Callable

from PyQt6.QtCore import QElapsedTimer, QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QToolButton, QVBoxLayout, QWidget

from rpan_studio.actions import shortcut
from rpan_studio.state import StudioState
from rpan_studio.views.timeline import SeekBar

__all__ = ["TransportBar", "PlayClock"]


class TransportBar(QWidget):
    """Buttons, the frame spin box and the seek bar; it asks (signals), the window acts."""

    seekRequested = pyqtSignal(int)
    stepRequested = pyqtSignal(int)
    jumpRequested = pyqtSignal(str, int)  # labeled | unlabeled | lowconf, direction
    playRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = QSpinBox()
        self.spin.setRange(0, 0)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Current frame: type a number and press Enter")
        self.spin.valueChanged.connect(self.seekRequested)
        self.count_label = QLabel("/ 0")
        self.fps_label = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)

        def button(text: str, tip: str, action: str, slot: Callable[[], None]) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(f"{tip} ({shortcut(action)})")
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            bar.addWidget(b)
            return b

        button("\u25c0\u25c0 lab", "Previous labeled frame", "prev_labeled",
               lambda: self.jumpRequested.emit("labeled", -1))
        button("\u25c0", "Previous frame", "step_back", lambda: self.stepRequested.emit(-1))
        self.play_button = button("\u25b6", "Play / pause", "play", self.playRequested.emit)
        button("\u25b6|", "Next frame", "step_forward", lambda: self.stepRequested.emit(1))
        button("lab \u25b6\u25b6", "Next labeled frame", "next_labeled", lambda: self.jumpRequested.emit("labeled", 1))
        button("unlabeled \u25b8", "Next unlabeled frame", "next_unlabeled",
               lambda: self.jumpRequested.emit("unlabeled", 1))
        button("low conf \u25b8", "Next low-confidence frame", "next_lowconf",
               lambda: self.jumpRequested.emit("lowconf", 1))
        bar.addSpacing(12)
        bar.addWidget(QLabel("frame"))
        bar.addWidget(self.spin)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        bar.addWidget(self.fps_label)
        self.seekbar = SeekBar()
        self.seekbar.seekRequested.connect(self.seekRequested)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.seekbar)

    def set_video(self, n_frames: int, info: str) -> None:
        self.spin.blockSignals(True)
        self.spin.setRange(0, max(0, n_frames - 1))
        self.spin.setValue(0)
        self.spin.blockSignals(False)
        self.count_label.setText(f"/ {n_frames - 1}")
        self.fps_label.setText(info)

    def set_frame(self, frame: int) -> None:
        if self.spin.value() != frame:
            self.spin.blockSignals(True)
            self.spin.setValue(frame)
            self.spin.blockSignals(False)
        self.seekbar.set_frame(frame)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("||" if playing else "\u25b6")

    def focus_frame_number(self) -> None:
        self.spin.setFocus()
        self.spin.selectAll()


class PlayClock(QObject):
    """Plays the state's video at its frame rate by seeking to the frame the wall clock says."""

    playingChanged = pyqtSignal(bool)

    def __init__(self, state: StudioState, seek: Callable[[int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.seek = seek
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._start = 0
        self._fps = 25.0

    def is_playing(self) -> bool:
        return self.timer.isActive()

    def toggle(self) -> None:
        if self.timer.isActive():
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        st = self.state
        if st.video is None:
            return
        if st.frame >= st.n_frames - 1:
            self.seek(0)
        self._fps = float(st.video.fps or 25.0)
        self._start = st.frame
        self._clock.start()
        self.timer.start(max(5, int(1000 / self._fps / 2)))  # tick at twice the rate; the clock picks the frame
        self.playingChanged.emit(True)

    def stop(self) -> None:
        was = self.timer.isActive()
        self.timer.stop()
        if was:
            self.playingChanged.emit(False)

    def _tick(self) -> None:
        st = self.state
        target = self._start + int(self._clock.elapsed() * self._fps / 1000.0)
        if target >= st.n_frames:
            self.seek(st.n_frames - 1)
            self.stop()
            return
        if target != st.frame:
            self.seek(target)  # frames the decoder could not keep up with are skipped, never queued
