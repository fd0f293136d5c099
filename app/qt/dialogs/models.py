"""File › Models…: the official checkpoints the catalog knows, what is installed, and getting the rest.

One row per catalog entry: what it is for, size, licence, status, and Download (with progress and Cancel),
"I already have it…" (install a file, folder or archive the person downloaded) and Remove. Downloads and
checks run on superqt workers (the dialog stays responsive); events from the model manager reach the GUI
thread through a signal. A cancelled download keeps what it fetched: Download resumes it.

A non-commercial licence is shown and asked for once before its first download (remembered in the models
folder, shared with ``regionpaint models get``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.model_manager.catalog import human_size

log = logging.getLogger(__name__)

ADD_FILTER = "Weights or archives (*.pth *.pt *.safetensors *.tar *.tar.gz *.tgz *.zip);;All files (*)"
PROGRESS_STEPS = 1000  # a QProgressBar holds an int: bytes of a multi-GB archive would overflow it
PROGRESS_INTERVAL_MS = 100  # progress bars are redrawn ten times a second while something downloads


def ask_licence(parent: QWidget, entry) -> bool:
    """Show a non-commercial licence once; True when the person accepts it."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Licence")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(
        f"<b>{entry.title}</b> is licensed<br>{entry.licence.title}<br>"
        f"<a href='{entry.licence.url}'>{entry.licence.url}</a><br><br>"
        "Accept it for your use of this model? You are asked once."
    )
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText("Accept and download")
    return box.exec() == QMessageBox.StandardButton.Yes


def choose_file(parent: QWidget) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "The model file, folder or archive you have", "", ADD_FILTER)
    return Path(path) if path else None


def confirm_remove(parent: QWidget, entry) -> bool:
    answer = QMessageBox.question(parent, "Remove model", f"Delete {entry.title} from the models folder?")
    return answer == QMessageBox.StandardButton.Yes


class _Events(QObject):
    """Carries the model manager's events from a worker thread to the GUI thread (queued by Qt)."""

    event = Signal(str, dict)  # row name, event


class ModelRow(QFrame):
    """One catalog entry: title, purpose, size · licence, status, progress and its buttons."""

    def __init__(self, entry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.setObjectName(f"modelRow-{entry.name}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(entry.title)
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)
        purpose = QLabel(entry.purpose)
        purpose.setWordWrap(True)
        self.meta = QLabel()
        self.meta.setTextFormat(Qt.TextFormat.RichText)
        self.meta.setOpenExternalLinks(True)
        self.meta.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("modelStatus")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.hide()
        self.download = QPushButton("Download")
        self.cancel = QPushButton("Cancel")
        self.cancel.hide()
        self.add = QPushButton("I already have it…")
        self.remove = QPushButton("Remove")
        buttons = QHBoxLayout()
        for button in (self.download, self.cancel, self.add, self.remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(purpose)
        layout.addWidget(self.meta)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    def show_state(self, state, size: int, busy: bool) -> None:
        entry = self.entry
        licence = f"<a href='{entry.licence.url}'>{entry.licence.id}</a>"
        if entry.licence.non_commercial:
            licence += " (non-commercial)"
        where = f" · <a href='{QUrl.fromLocalFile(str(state.folder)).toString()}'>folder</a>" if state.installed else ""
        self.meta.setText(f"{human_size(size)} · licence {licence} · {entry.kind} <i>{entry.target}</i>{where}")
        self.meta.setToolTip(entry.licence.title)
        text = {"verified": "Installed and verified", "not installed": "Not installed"}.get(state.state, state.state)
        self.status.setText(text + (f" — {state.detail}" if state.detail else ""))
        self.download.setVisible(not busy)
        self.download.setText("Download again" if state.installed else "Download")
        self.cancel.setVisible(busy)
        self.add.setEnabled(not busy)
        self.remove.setEnabled(not busy and state.state != "not installed")

    def show_progress(self, done: int, total: int | None, what: str) -> None:
        self.progress.show()
        if total:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(min(PROGRESS_STEPS, done * PROGRESS_STEPS // total))
            self.progress.setFormat(f"{what}: {human_size(done)} of {human_size(total)}")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{what}: {human_size(done)}")


class ModelsDialog(QDialog):
    """The catalog with status and actions; ``modelsChanged`` after an install or removal."""

    modelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None, root: Path | None = None, catalog=None) -> None:
        super().__init__(parent)
        from regionpaint.app.model_manager.catalog import load_catalog
        from regionpaint.app.model_manager.store import models_root

        self.setObjectName("modelsDialog")
        self.setWindowTitle("Models")
        self.resize(760, 680)
        self.root = root or models_root()
        self.catalog = catalog or load_catalog()
        self.ask_licence: Callable[[QWidget, object], bool] = ask_licence
        self.choose_file: Callable[[QWidget], Path | None] = choose_file
        self.confirm_remove: Callable[[QWidget, object], bool] = confirm_remove
        self.workers: dict[str, object] = {}
        self.managers: dict[str, object] = {}
        self._latest: dict[str, dict] = {}  # row name -> latest progress event, written by worker threads
        self.timer = QTimer(self)
        self.timer.setInterval(PROGRESS_INTERVAL_MS)
        self.timer.timeout.connect(self._draw_progress)
        self._closing = False
        self.events = _Events(self)
        self.events.event.connect(self._on_event)
        intro = QLabel(
            "The official checkpoints of SPADE, SEAN and pix2pixHD, and the segmenters that label photos. "
            "Each download is checked key by key against the official network before it is installed."
        )
        intro.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("modelsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rows: dict[str, ModelRow] = {}
        rows = QWidget()
        column = QVBoxLayout(rows)
        for entry in self.catalog.entries.values():
            row = ModelRow(entry)
            row.download.clicked.connect(lambda _=False, n=entry.name: self.download(n))
            row.cancel.clicked.connect(lambda _=False, n=entry.name: self.cancel(n))
            row.add.clicked.connect(lambda _=False, n=entry.name: self.add_file(n))
            row.remove.clicked.connect(lambda _=False, n=entry.name: self.remove(n))
            self.rows[entry.name] = row
            column.addWidget(row)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(rows)
        self.scroll = scroll
        folder = QPushButton("Open the models folder")
        folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.root))))
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(folder)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addLayout(bottom)
        self.refresh()

    def _manager(self, name: str):
        from regionpaint.app.model_manager.manager import ModelManager

        manager = ModelManager(catalog=self.catalog, root=self.root)
        manager.report = lambda event: self._report(name, event)
        return manager

    def _report(self, name: str, event: dict) -> None:
        """Called on the worker thread. Progress is kept as the latest value per row and drawn by a GUI timer
        ten times a second (a fast download reports hundreds of chunks a second); other events go by signal."""
        if event.get("event") == "progress":
            self._latest[name] = dict(event)
            return
        try:
            self.events.event.emit(name, dict(event))
        except RuntimeError:  # the dialog was deleted while its download was stopping: nobody to tell
            log.info("model %s: %s", name, event)

    def _draw_progress(self) -> None:
        for name, event in list(self._latest.items()):
            if name in self.workers:
                self.rows[name].show_progress(int(event["done"]), event.get("total"), event.get("file", ""))
        if not self.workers:
            self.timer.stop()

    def refresh(self) -> None:
        from regionpaint.app.model_manager.manager import ModelManager

        manager = ModelManager(catalog=self.catalog, root=self.root)
        for name, row in self.rows.items():
            row.show_state(manager.status(row.entry), manager.size_of(row.entry), name in self.workers)

    def focus_entry(self, name: str) -> None:
        """Scroll to an entry (File › New from photo opens the dialog on the segmenter it needs)."""
        row = self.rows.get(name)
        if row is not None:
            self.scroll.ensureWidgetVisible(row)
            row.download.setFocus()

    # -- actions -------------------------------------------------------------------------------------------
    def download(self, name: str) -> None:
        from superqt.utils import create_worker

        if name in self.workers:
            return
        entry = self.catalog.entry(name)
        manager = self._manager(name)
        if not manager.licence_accepted(entry):
            if not self.ask_licence(self, entry):
                self.message.setText(f"{entry.title}: not downloaded (licence not accepted).")
                return
            manager.accept_licence(entry)
        worker = create_worker(manager.get, name, force=True, _start_thread=False, _ignore_errors=True)
        self._start(name, manager, worker)
        self.rows[name].status.setText("Starting…")

    def cancel(self, name: str) -> None:
        manager = self.managers.get(name)
        if manager is not None:
            manager.cancel.set()
            self.rows[name].status.setText("Stopping…")

    def add_file(self, name: str) -> None:
        from superqt.utils import create_worker

        if name in self.workers:
            return
        path = self.choose_file(self)
        if path is None:
            return
        manager = self._manager(name)
        self._start(name, manager, create_worker(manager.add, path, _start_thread=False, _ignore_errors=True))
        self.rows[name].status.setText(f"Checking {path.name}…")

    def remove(self, name: str) -> None:
        from regionpaint.app.model_manager.errors import ModelError

        entry = self.catalog.entry(name)
        if not self.confirm_remove(self, entry):
            return
        try:
            self._manager(name).remove(name)
        except ModelError as exc:
            self.message.setText(str(exc))
        self.refresh()
        self.modelsChanged.emit()

    def _start(self, name: str, manager, worker) -> None:
        self.managers[name] = manager
        self.workers[name] = worker
        self._latest.pop(name, None)
        self.timer.start()
        worker.returned.connect(lambda result, n=name: self._done(n, result))
        worker.errored.connect(lambda exc, n=name: self._failed(n, exc))
        worker.finished.connect(lambda n=name: self._finished(n))
        self.refresh()
        worker.start()

    def _on_event(self, name: str, event: dict) -> None:
        row = self.rows[name]
        kind = event.get("event")
        if kind == "status":
            row.status.setText(event.get("message", ""))
        elif kind == "source-failed":
            self.message.setText(f"{name}: {event.get('message', '')} — trying the next source.")

    def _done(self, name: str, result) -> None:
        manifests = result if isinstance(result, list) else [result]
        titles = ", ".join(m.title for m in manifests)
        self.message.setText(f"Installed and verified: {titles}.")
        self.modelsChanged.emit()

    def _failed(self, name: str, exc: BaseException) -> None:
        from regionpaint.app.model_manager.errors import Cancelled, ModelError

        if isinstance(exc, Cancelled):
            self.message.setText(f"{self.rows[name].entry.title}: stopped. Download again to resume where it stopped.")
        elif isinstance(exc, (ModelError, OSError)):
            self.message.setText(str(exc))
        else:
            log.exception("model %s", name, exc_info=exc)
            self.message.setText(f"{name}: {type(exc).__name__}: {exc}")

    def _finished(self, name: str) -> None:
        self.workers.pop(name, None)
        self.managers.pop(name, None)
        self.rows[name].progress.hide()
        self.refresh()
        if self._closing and not self.workers:
            self._closing = False
            super().reject()

    def busy(self) -> bool:
        return bool(self.workers)

    def reject(self) -> None:
        """Close; running downloads are stopped first (Download resumes them) so no worker outlives the rows."""
        if not self.workers:
            super().reject()
            return
        self._closing = True
        for name in list(self.managers):
            self.cancel(name)
