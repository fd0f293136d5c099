"""The batch dialog: a checkpoint, a folder of label maps and an output folder -> ``regionpaint batch``.

``BatchDialog(parent, checkpoint).get_command()`` shows the dialog and returns the ``regionpaint batch`` argv
(starting with ``batch``) or None when cancelled; :meth:`BatchDialog.command` builds it without showing it.
The editor runs that same command as a background job in the Jobs panel (progress, Stop, Continue). The label
folder is scanned as the user types (on a thread: a dataset folder may be large), showing how many maps it
holds, which layout and how their outputs will be named. The engine's options (the editor's own option
controls, :class:`regionpaint.app.qt.panels.engine_options.OptionForm`) are shown for the checkpoint's
engine, found on a thread too, and passed on as ``--option NAME=VALUE`` where they differ from the defaults.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.batch.discovery import LAYOUTS, DiscoveryError, discover
from regionpaint.app.batch.styles import STYLE_MODES
from regionpaint.app.qt.panels.checkpoint_picker import CheckpointPicker
from regionpaint.app.qt.panels.engine_options import OptionForm, editable_options
from regionpaint.app.qt.settings import EditorSettings, models_dir

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")
SCAN_DELAY_MS = 300
STYLE_CHOICES = (("Checkpoint defaults (seed)", ""),) + tuple((mode, mode) for mode in STYLE_MODES)


class _Scanner(QObject):
    """Runs discover() on a thread; ``finished(token, text, ok)`` arrives on the GUI thread."""

    finished = Signal(int, str, bool)

    def start(self, token: int, labels: str, layout: str, instances: str) -> None:
        def work() -> None:
            try:
                used, items = discover(labels, layout, instances or None)
            except (DiscoveryError, OSError, ValueError) as exc:
                self.finished.emit(token, str(exc), False)
                return
            with_instances = sum(1 for item in items if item.instance is not None)
            text = (
                f"{len(items)} label maps ({used} layout), {with_instances} with instance maps\ne.g. → {items[0].key}"
            )
            self.finished.emit(token, text, True)

        threading.Thread(target=work, name="batch-dialog-scan", daemon=True).start()


class _EngineProbe(QObject):
    """Finds the checkpoint's engine and what it offers on a thread (reads file headers);
    ``finished(token, (engine class, capabilities) or None)`` arrives on the GUI thread."""

    finished = Signal(int, object)

    def start(self, token: int, engine_id: str, checkpoint: str) -> None:
        from regionpaint.app.model_manager.manager import resolve_checkpoint
        from regionpaint.app.render.service import default_service

        service = default_service()
        service.manager  # noqa: B018 - plugins load (once) here on the GUI thread, not on the probe's

        def work() -> None:
            try:
                path = str(resolve_checkpoint(checkpoint))  # an installed model's name -> its folder
                engine_class = service.engine_class(engine_id, path)
                found = (engine_class, service.capabilities(engine_class.id, path))
            except Exception as exc:  # noqa: BLE001 - an unreadable or foreign checkpoint: no options to show
                log.debug("batch dialog: no engine for %s: %s", checkpoint, exc)
                found = None
            self.finished.emit(token, found)

        threading.Thread(target=work, name="batch-dialog-engine", daemon=True).start()


class SummaryLabel(QLabel):
    """The scan summary: its lines (two at most), each elided in the middle to the label's width; the whole text
    in the tooltip and from :meth:`text`.

    A word-wrapped label in the form gave three lines in a narrow dialog where the form layout had room for two:
    "3 label maps (cityscapes layout)…" was clipped top and bottom. A fixed two-line height needs no
    height-for-width, which the form layout did not honour.
    """

    LINES = 2

    def __init__(self, **properties) -> None:
        super().__init__(**properties)
        self._full = ""
        self.setMinimumHeight(self.LINES * self.fontMetrics().lineSpacing() + 4)
        self.setMinimumWidth(120)  # a long path must not widen the dialog: it is elided instead
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(1, self.contentsRect().width())
        lines = self._full.splitlines()[: self.LINES]
        metrics = self.fontMetrics()
        super().setText("\n".join(metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, width) for line in lines))


class BatchDialog(QDialog):
    """``engine`` and ``options``: the document's engine and its option values, used while the checkpoint
    is the one given (another checkpoint's engine is recognised from it, its options start at defaults).
    ``settings`` and ``models_folder`` feed the checkpoint picker (the Engine panel's): default, the editor's."""

    def __init__(
        self,
        parent: QWidget | None = None,
        checkpoint: str | Path | None = None,
        engine: str = "",
        options: dict | None = None,
        settings: EditorSettings | None = None,
        models_folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._given_engine = (str(checkpoint or ""), engine or "", dict(options or {}))
        self.setWindowTitle("Batch render a folder")
        self.setObjectName("batchDialog")
        self._token = 0
        self._labels_ok = False
        self._scanner = _Scanner(self)
        self._scanner.finished.connect(self._on_scan)
        self._timer = QTimer(self, singleShot=True, interval=SCAN_DELAY_MS)
        self._timer.timeout.connect(self._scan)
        self._build(checkpoint, settings or EditorSettings(), models_folder or models_dir())
        self._update_start()

    def _build(self, checkpoint: str | Path | None, settings: EditorSettings, models_folder: Path) -> None:
        # The Engine panel's picker: installed and demo models by name, official checkpoint folders, files.
        self.checkpoint = CheckpointPicker(settings, models_folder)
        self.checkpoint.setObjectName("batchCheckpoint")
        self.checkpoint.fill(str(checkpoint or ""))
        self.labels = QLineEdit(objectName="batchLabels", placeholderText="folder of label maps (searched recursively)")
        self.instances = QLineEdit(objectName="batchInstances", placeholderText="optional: instance maps folder")
        self.layout_box = QComboBox(objectName="batchLayout")
        self.layout_box.addItems(LAYOUTS)
        self.status = SummaryLabel(objectName="batchScan", textFormat=Qt.TextFormat.PlainText)
        self.out = QLineEdit(objectName="batchOut", placeholderText="output folder")
        self.style_mode = QComboBox(objectName="batchStyleMode")
        for text, value in STYLE_CHOICES:
            self.style_mode.addItem(text, value)
        self.photos = QLineEdit(objectName="batchPhotos", placeholderText="from-photos: the maps' photos")
        self.styles = QLineEdit(objectName="batchStyles", placeholderText="optional: styles manifest (.json / .csv)")
        self.mean_styles = QLineEdit(objectName="batchMeanStyles", placeholderText="SEAN mean/random: style folder")
        self.seed = QSpinBox(objectName="batchSeed", minimum=0, maximum=2**31 - 1, value=0)
        self.batch_size = QSpinBox(objectName="batchSize", minimum=0, maximum=256, value=0, specialValueText="auto")
        self.device = QComboBox(objectName="batchDevice", editable=True)
        self.device.addItems(DEVICES)
        self.overwrite = QCheckBox("Render outputs that are already done again", objectName="batchOverwrite")

        form = QFormLayout()
        form.addRow("Model", self.checkpoint)
        form.addRow("Label maps", self._row(self.labels, "Label maps folder"))
        form.addRow("Layout", self.layout_box)
        form.addRow("Instance maps", self._row(self.instances, "Instance maps folder"))
        form.addRow("", self.status)
        form.addRow("Output folder", self._row(self.out, "Output folder"))
        form.addRow("Styles", self.style_mode)
        form.addRow("Photos", self._row(self.photos, "Photos folder"))
        form.addRow("Styles manifest", self._row(self.styles, "Styles manifest", folder=False))
        form.addRow("Mean styles", self._row(self.mean_styles, "Style folder (images/ + labels/)"))
        form.addRow("Seed", self.seed)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Device", self.device)
        form.addRow("", self.overwrite)
        note = QLabel(
            "Runs as a job in the Jobs panel. A rerun skips finished outputs; Stop ends after the current batch."
        )
        note.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start batch", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("batchStart")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._build_options_box())
        layout.addWidget(note)
        layout.addWidget(self.buttons)

        for edit in (self.labels, self.instances):
            edit.textChanged.connect(self._schedule_scan)
        self.layout_box.currentIndexChanged.connect(self._schedule_scan)
        self.labels.textChanged.connect(self._suggest_out)
        for edit in (self.out, self.photos):
            edit.textChanged.connect(self._update_start)
        self.checkpoint.currentIndexChanged.connect(self._update_start)
        self.style_mode.currentIndexChanged.connect(self._update_start)

    # ---- engine options ----------------------------------------------------------------------------
    def _build_options_box(self) -> QGroupBox:
        """The engine's options, found again (on a thread) when the checkpoint changes."""
        self.engine_class = None
        self._probe_token = 0
        self.options_box = QGroupBox("Engine options", objectName="batchEngineOptions")
        self.option_form = OptionForm(self.options_box)
        QVBoxLayout(self.options_box).addWidget(self.option_form)
        self.options_box.setVisible(False)
        self._probe = _EngineProbe(self)
        self._probe.finished.connect(self._on_engine)
        self._probe_timer = QTimer(self, singleShot=True, interval=SCAN_DELAY_MS)
        self._probe_timer.timeout.connect(self._find_engine)
        self.checkpoint.checkpointChosen.connect(lambda _path: self._probe_timer.start())
        self._find_engine()
        return self.options_box

    def _engine_hint(self) -> tuple[str, dict]:
        """(engine id, option values) the dialog was given, while the checkpoint is still the given one."""
        checkpoint, engine, options = self._given_engine
        chosen = self.checkpoint.path()
        same = bool(chosen and checkpoint.strip()) and Path(chosen) == Path(checkpoint.strip())
        return (engine, options) if same else ("", {})

    def _find_engine(self) -> None:
        self._probe_token += 1
        checkpoint = self.checkpoint.path()
        if not checkpoint:
            self._on_engine(self._probe_token, None)
            return
        self._probe.start(self._probe_token, self._engine_hint()[0], checkpoint)

    def _on_engine(self, token: int, found) -> None:
        if token != self._probe_token:
            return  # an older checkpoint's answer
        engine_class, capabilities = found if found is not None else (None, frozenset())
        options = editable_options(engine_class, capabilities)
        if engine_class is not self.engine_class:
            values = self._engine_hint()[1]  # another engine: the document's values, or the defaults
        else:
            values = {**self._engine_hint()[1], **self.option_form.values()}  # the person's choices stay
        self.engine_class = engine_class
        self.option_form.set_options(options)
        self.option_form.show_values(values)
        if engine_class is not None:
            self.options_box.setTitle(f"{engine_class.display_name} options")
        self.options_box.setVisible(bool(options))

    def option_arguments(self) -> list[str]:
        """``--engine`` (when the dialog was given the document's) and ``--option NAME=VALUE`` for every shown
        option whose value is not its default."""
        from regionpaint.engines.schema import option_text

        argv: list[str] = []
        engine_id = self._engine_hint()[0]
        if engine_id and self.engine_class is not None and self.engine_class.id == engine_id:
            argv += ["--engine", engine_id]
        values = self.option_form.values()
        for option in self.option_form.shown:
            if values[option.name] != option.default:
                argv += ["--option", f"{option.name}={option_text(option, values[option.name])}"]
        return argv

    def _row(self, edit: QLineEdit, title: str, folder: bool = True) -> QWidget:
        """The edit with a Browse… button (a folder, or a file)."""
        button = QPushButton("Browse…")

        def browse() -> None:
            if folder:
                chosen = QFileDialog.getExistingDirectory(self, title, edit.text())
            else:
                chosen, _ = QFileDialog.getOpenFileName(self, title, edit.text())
            if chosen:
                edit.setText(chosen)

        button.clicked.connect(browse)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(button)
        return row

    # ---- checking --------------------------------------------------------------------------------------
    def _schedule_scan(self) -> None:
        self._labels_ok = False
        self._token += 1
        self.status.setText("looking for label maps…" if self.labels.text().strip() else "")
        self._update_start()
        self._timer.start()

    def _scan(self) -> None:
        if self.labels.text().strip():
            self._scanner.start(self._token, self.labels.text(), self.layout_box.currentText(), self.instances.text())

    def _on_scan(self, token: int, text: str, ok: bool) -> None:
        if token != self._token:
            return  # an older scan; the folder changed since
        self._labels_ok = ok
        self.status.setText(text)
        self.status.setStyleSheet("" if ok else "color: #b00020;")
        self._update_start()

    def _suggest_out(self, text: str) -> None:
        """Output folder beside the label folder: ``city`` -> ``city_rendered`` (unless the person typed one)."""
        labels = Path(text.rstrip("/\\"))
        # "/" (the first character typed), "." or "..": no folder name to name the output after (yet).
        if text.strip() and labels.name not in ("", "..") and not self.out.isModified():
            self.out.setText(str(labels.with_name(labels.name + "_rendered")))

    def problems(self) -> list[str]:
        """What still stops the batch from starting (empty when ready)."""
        problems = []
        if not self.checkpoint.path():
            problems.append("choose a checkpoint")
        if not self._labels_ok:
            problems.append("choose a folder with label maps")
        if not self.out.text().strip():
            problems.append("choose an output folder")
        if self.style_mode.currentData() == "from-photos" and not self.photos.text().strip():
            problems.append("from-photos needs the photos folder")
        return problems

    def _update_start(self) -> None:
        problems = self.problems()
        self.start_button.setEnabled(not problems)
        self.start_button.setToolTip("; ".join(problems))

    # ---- result ----------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        """The ``regionpaint batch`` argv for the current settings (starts with ``batch``)."""
        argv = [
            "batch",
            "--checkpoint",
            self.checkpoint.path(),
            "--labels",
            self.labels.text(),
            "--out",
            self.out.text(),
        ]
        if self.layout_box.currentText() != "auto":
            argv += ["--layout", self.layout_box.currentText()]
        for flag, edit in (
            ("--instances", self.instances),
            ("--styles", self.styles),
            ("--mean-styles", self.mean_styles),
        ):
            if edit.text().strip():
                argv += [flag, edit.text()]
        if self.style_mode.currentData():
            argv += ["--style-mode", self.style_mode.currentData()]
        if self.photos.text().strip() and self.style_mode.currentData() in ("from-photos", ""):
            argv += ["--photos", self.photos.text()]
        argv += ["--seed", str(self.seed.value()), "--device", self.device.currentText()]
        if self.batch_size.value():
            argv += ["--batch-size", str(self.batch_size.value())]
        if self.overwrite.isChecked():
            argv.append("--overwrite")
        return argv + self.option_arguments()

    def output_folder(self) -> str:
        return self.out.text()

    def get_command(self) -> list[str] | None:
        """Show the dialog; the argv when the user starts the batch, None when cancelled."""
        return self.command() if self.exec() == QDialog.DialogCode.Accepted else None
