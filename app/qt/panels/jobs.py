"""The jobs panel: one card per training job with progress, ETA, a live loss plot and the latest sample.

Jobs are :class:`regionpaint.app.training.jobs.TrainingJob` subprocesses; a timer polls their events on the GUI thread
(no Qt object is touched from another thread). Stop asks the trainer to save and stop; Resume starts the same run with
``--resume``; "Open in editor" emits :attr:`JobsPanel.open_in_editor` with the run folder (an official checkpoint folder
the engines load) once the job has a checkpoint.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.training.jobs import JobState, TrainingJob, job_for

log = logging.getLogger(__name__)

POLL_MS = 250
PLOT_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
SAMPLE_SIZE = (460, 180)  # the sample grid is shown scaled into this box
MIN_PANEL_WIDTH, MIN_PANEL_HEIGHT = 380, 320  # one card's header, buttons and progress stay in view


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class LossPlot(QWidget):
    """Loss curves drawn with QPainter: one polyline per loss name over the step axis, autoscaled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: Sequence[tuple[int, dict[str, float]]] = ()
        self.setMinimumSize(220, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setObjectName("lossPlot")

    def set_history(self, history: Sequence[tuple[int, dict[str, float]]]) -> None:
        self.history = list(history)
        self.update()

    def series(self) -> dict[str, list[tuple[int, float]]]:
        curves: dict[str, list[tuple[int, float]]] = {}
        for step, losses in self.history:
            for name, value in losses.items():
                if value is not None and math.isfinite(value):
                    curves.setdefault(name, []).append((step, value))
        return curves

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        curves = self.series()
        legend_height = 16
        if not curves:
            area = QRectF(self.rect()).adjusted(48, 6, -6, -(6 + legend_height))
            painter.setPen(QPen(self.palette().mid().color(), 1))
            painter.drawRect(area)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "losses appear here")
            return
        steps = [s for points in curves.values() for s, _ in points]
        values = [v for points in curves.values() for _, v in points]
        low, high = min(values), max(values)
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        first, last = min(steps), max(max(steps), min(steps) + 1)
        labels = (f"{high:.3g}", f"{low:.3g}")
        # The axis labels get the room they need ("0.000466" is wider than "23.1").
        label_width = max(44, *(painter.fontMetrics().horizontalAdvance(text) for text in labels))
        area = QRectF(self.rect()).adjusted(label_width + 4, 6, -6, -(6 + legend_height))
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(area)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(0, area.top() - 2, label_width, 14), Qt.AlignmentFlag.AlignRight, labels[0])
        painter.drawText(QRectF(0, area.bottom() - 12, label_width, 14), Qt.AlignmentFlag.AlignRight, labels[1])

        def point(step: int, value: float) -> QPointF:
            x = area.left() + (step - first) / (last - first) * area.width()
            y = area.bottom() - (value - low) / (high - low) * area.height()
            return QPointF(x, y)

        x_legend = area.left()
        for index, (name, points) in enumerate(sorted(curves.items())):
            colour = QColor(PLOT_COLOURS[index % len(PLOT_COLOURS)])
            path = QPainterPath(point(*points[0]))
            stride = max(1, len(points) // max(1, int(area.width())))  # at most ~one vertex per pixel
            for step, value in points[::stride]:
                path.lineTo(point(step, value))
            painter.setPen(QPen(colour, 1.4))
            painter.drawPath(path)
            painter.drawText(QPointF(x_legend, self.height() - 5), name)
            x_legend += painter.fontMetrics().horizontalAdvance(name) + 10


class JobCard(QFrame):
    """One job: title, state, progress bar, speed/ETA, losses, sample, and its buttons."""

    stop_requested = Signal(object)
    resume_requested = Signal(object)
    open_requested = Signal(object)

    def __init__(self, job: TrainingJob, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.job = job
        self.title = QLabel(objectName="jobTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state = QLabel(objectName="jobState")
        self.progress = QProgressBar(objectName="jobProgress", minimum=0, maximum=1000)
        self.speed = QLabel(objectName="jobSpeed")
        self.losses = QLabel(objectName="jobLosses", wordWrap=True)
        self.plot = LossPlot(self)
        self.sample = QLabel(objectName="jobSample", alignment=Qt.AlignmentFlag.AlignCenter)
        self.sample.setMinimumHeight(96)
        # The sample is scaled to the card's width; it must not widen the card past the panel.
        self.sample.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setWordWrap(True)
        self._sample_pixmap: QPixmap | None = None
        self.message = QLabel(objectName="jobMessage", wordWrap=True)
        self.message.setStyleSheet("color: #b00020;")
        # A crashed job's last log lines, so the reason is readable without a terminal.
        self.log_view = QPlainTextEdit(objectName="jobLog", readOnly=True)
        self.log_view.setMaximumHeight(140)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.hide()
        self.stop_button = QPushButton("Stop", objectName="jobStop")
        self.resume_button = QPushButton("Resume", objectName="jobResume")
        self.open_button = QPushButton("Open in editor", objectName="jobOpen")
        self.stop_button.clicked.connect(lambda: self.stop_requested.emit(self))
        self.resume_button.clicked.connect(lambda: self.resume_requested.emit(self))
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self))
        self._sample_path: Path | None = None

        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.state)
        buttons = QHBoxLayout()
        for button in (self.stop_button, self.resume_button, self.open_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(buttons)  # Stop / Resume / Open stay in view above the plot
        layout.addWidget(self.progress)
        layout.addWidget(self.speed)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.losses)
        layout.addWidget(self.sample)
        layout.addWidget(self.message)
        layout.addWidget(self.log_view)
        self.refresh()

    def set_job(self, job: TrainingJob) -> None:
        self.job = job
        self.refresh()

    def refresh(self) -> None:
        job, progress = self.job, self.job.progress
        engine = progress.engine or engine_of(job.argv) or "training"
        self.title.setText(f"{engine} → {job.run_dir.name}")
        self.title.setToolTip(str(job.run_dir))
        self.state.setText(job.state.value)
        self.progress.setValue(int(progress.fraction * 1000))
        total = progress.total_steps or "?"
        self.progress.setFormat(f"{progress.step} / {total}")
        if job.kind == "batch":
            self._refresh_batch()
        else:
            self.speed.setText(training_status(job))
        self.losses.setText("   ".join(f"{k} {v:.3f}" for k, v in sorted(progress.losses.items())))
        self.plot.set_history(progress.history)
        if progress.latest_sample is not None and progress.latest_sample != self._sample_path:
            pixmap = QPixmap(str(progress.latest_sample))
            if not pixmap.isNull():
                self._sample_pixmap = pixmap
                self._show_sample()
                self._sample_path = progress.latest_sample
        # A failure's one-line summary; the log box below holds the rest.
        message = (progress.error or "").strip().splitlines()[-1:] if job.state is JobState.FAILED else None
        message = "\n".join(message) if message is not None else "\n".join(progress.warnings[-1:])
        self.message.setText(message or "")
        self.message.setStyleSheet("color: #b00020;" if job.state is JobState.FAILED else "color: #8a6d00;")
        failed = job.state is JobState.FAILED
        if failed and self.log_view.toPlainText() != job.failure_text():
            self.log_view.setPlainText(job.failure_text())
            bar = self.log_view.verticalScrollBar()
            bar.setValue(bar.maximum())  # the last lines are the ones that say why
        self.log_view.setVisible(failed)
        running = job.state in (JobState.STARTING, JobState.RUNNING)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(job.state in (JobState.STOPPED, JobState.FAILED) and job.can_resume)
        self.open_button.setEnabled(job.state in (JobState.DONE, JobState.STOPPED) and job.checkpoint is not None)

    def _show_sample(self) -> None:
        if self._sample_pixmap is None:
            return
        box = QSize(max(64, min(SAMPLE_SIZE[0], self.width() - 24)), SAMPLE_SIZE[1])
        mode = Qt.TransformationMode.SmoothTransformation
        self.sample.setPixmap(self._sample_pixmap.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def _refresh_batch(self) -> None:
        """A batch job: images done, images/s, ETA and the inputs it skipped; no losses, no checkpoint."""
        job, progress = self.job, self.job.progress
        self.title.setText(f"batch {progress.engine or ''} → {job.run_dir.name}")
        rate = f"{progress.it_s:.2f} img/s" if progress.it_s else "– img/s"
        skipped = len(progress.failed) or len(progress.warnings)
        bad = f"   {skipped} skipped" if skipped else ""
        count = f"{progress.step} / {progress.total_steps or '?'} images"
        if job.state.finished:  # nothing left to time
            self.speed.setText(f"{count}   {job.state.value}{bad}")
        else:
            self.speed.setText(f"{count}   {rate}   ETA {format_duration(progress.eta_s)}{bad}")
        for widget in (self.plot, self.losses, self.sample, self.open_button):
            widget.hide()
        self.resume_button.setText("Continue")

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._show_sample()


def training_status(job: TrainingJob) -> str:
    """The line under a training job's bar: speed and ETA while it runs; once it ends, where the run is (the
    step it reached and its checkpoint's step, which Resume continues from) and no ETA."""
    progress, state = job.progress, job.state
    checkpoint = progress.latest_checkpoint_step
    saved = f"checkpoint at step {checkpoint}" if checkpoint is not None else "no checkpoint yet"
    if state is JobState.STOPPING:
        return f"step {progress.step}: stopping, saving a checkpoint…"
    if state is JobState.STOPPED:
        return f"stopped at step {progress.step}, {saved} (Resume continues from there)"
    if state is JobState.DONE:
        return f"done: {progress.step} steps, {saved}"
    if state is JobState.FAILED:
        return f"failed at step {progress.step}, {saved}"
    rate = f"{progress.it_s:.2f} it/s" if progress.it_s else "– it/s"
    return f"epoch {progress.epoch or '–'}   {rate}   ETA {format_duration(progress.eta_s)}"


def engine_of(argv: Sequence[str]) -> str:
    argv = list(argv)
    return argv[argv.index("--engine") + 1] if "--engine" in argv[:-1] else ""


class JobsPanel(QWidget):
    """Training jobs of this editor session. ``start_job(argv, run_dir)`` runs ``regionpaint <argv>``."""

    open_in_editor = Signal(str)  # the run folder (an official checkpoint folder)
    job_finished = Signal(object)  # TrainingJob, when it reaches done / stopped / failed

    def __init__(self, parent: QWidget | None = None, python: str | None = None, env: dict | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobsPanel")
        self.python, self.env = python, env
        self.cards: list[JobCard] = []
        self._container = QWidget()
        self._list = QVBoxLayout(self._container)
        self._list.addStretch(1)
        self.empty = QLabel("No training jobs. Start one from Train…", objectName="jobsEmpty")
        self._list.insertWidget(0, self.empty)
        # Cards take the panel's width (their warnings wrap) and scroll vertically only.
        self.scroll = QScrollArea(widgetResizable=True)
        self.scroll.setWidget(self._container)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumSize(MIN_PANEL_WIDTH, MIN_PANEL_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)

    @property
    def jobs(self) -> list[TrainingJob]:
        return [card.job for card in self.cards]

    def start_job(self, argv: Sequence[str], run_dir: str | Path) -> TrainingJob:
        """Start ``regionpaint <argv>`` (argv begins with ``train`` or ``batch``) as a new job and show it."""
        job = job_for(argv, run_dir, python=self.python, env=self.env).start()
        self.add_job(job)
        return job

    def add_job(self, job: TrainingJob) -> JobCard:
        """Show an existing job (started or not) and follow it."""
        card = JobCard(job, self._container)
        card.stop_requested.connect(lambda c: c.job.stop())
        card.resume_requested.connect(self._resume)
        card.open_requested.connect(lambda c: self.open_in_editor.emit(str(c.job.run_dir)))
        self._list.insertWidget(self._list.count() - 1, card)
        self.cards.append(card)
        self.empty.hide()
        if not self.timer.isActive():
            self.timer.start()
        return card

    def _resume(self, card: JobCard) -> None:
        card.set_job(card.job.resume().start())
        if not self.timer.isActive():
            self.timer.start()

    def poll(self) -> None:
        busy = False
        for card in self.cards:
            job = card.job
            before = job.state
            job.poll()
            card.refresh()
            if job.state.finished and not before.finished:
                self.job_finished.emit(job)
            # A job reports "stopped" before its process exits: keep polling until it is reaped.
            busy |= not job.state.finished or not job.exited
        if not busy:
            self.timer.stop()

    def stop_all(self) -> None:
        """Ask every running job to save and stop (e.g. when the editor closes)."""
        for job in self.jobs:
            job.stop()
