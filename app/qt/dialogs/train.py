"""The training dialog: engine, dataset folder (validated while typing), run folder, options with presets.

``TrainDialog(parent).get_command()`` shows the dialog and returns the ``regionpaint train`` argv (starting with
``train``) or None when cancelled; :meth:`TrainDialog.command` builds it without showing the dialog. Only options
that differ from the engine's defaults and the dataset layout's preset are written, so the command line applies
the same presets the dialog showed. Validation runs on a background thread (it opens image files).

The engines and the option fields come from the registered trainers and the shared training schema
(:func:`regionpaint.engines.training.flags.all_options`), so a plugin's trainable engine gets its fields here too.
Sizes (:data:`RUN_SIZES`) fill in CPU-sized settings; "Estimate time" runs the real command for a few steps
in the background (:mod:`regionpaint.app.training.estimate`). With ``settings`` the dialog remembers its values between
jobs.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.training.estimate import Estimate, planned_steps, seconds_per_step, timing_command
from regionpaint.app.training.jobs import TrainingJob
from regionpaint.engines.schema import Option
from regionpaint.engines.training.flags import all_options, command_line, option_engines
from regionpaint.engines.training.layouts import detect_layout
from regionpaint.engines.training.options import LAYOUTS, TrainOptions, defaults_for, registered_trainers
from regionpaint.engines.training.schema import in_dialog
from regionpaint.engines.training.validation import DatasetReport, validate_dataset

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")
LIVE_PIXEL_CHECKS = 25  # label maps decoded while typing; the trainer checks all of them
VALIDATE_DELAY_MS = 350
ADVANCED_MAX_HEIGHT = 330  # the Advanced options scroll beyond this, so the dialog fits a 1000-px screen
SETTINGS_KEY = "train/last"
# Run sizes: a name -> option values and run length. "Preset" leaves the engine's and layout's values.
RUN_SIZES: dict[str, dict[str, Any]] = {
    "Preset (official sizes)": {},
    "CPU quick look": {"ngf": 16, "crop_size": 128, "batchSize": 1, "steps": 500},
    "CPU afternoon": {"ngf": 32, "crop_size": 256, "batchSize": 1, "steps": 3000},
}


def preset_in_words(preset) -> str:
    """A training preset as a person reads it: "35 labels, trained at 512×256, no instance maps"."""
    load, crop, aspect = preset.load_size, preset.crop_size, preset.aspect_ratio or 1.0
    sizes = {
        "fixed": f"trained at {crop}×{round(crop / aspect)}",
        "resize_and_crop": f"photos resized to {load}×{load}, trained on {crop}×{crop} crops",
        "crop": f"trained on {crop}×{crop} crops",
        "scale_width_and_crop": f"photos scaled to {load} wide, trained on {crop}×{crop} crops",
        "scale_width": f"photos scaled to {load} wide",
        "scale_shortside_and_crop": f"short side scaled to {load}, trained on {crop}×{crop} crops",
        "scale_shortside": f"short side scaled to {load}",
        "none": "photos at their own size",
    }
    labels = f"{preset.label_nc} labels" if preset.label_nc is not None else "labels counted from the data"
    words = [labels, sizes.get(preset.preprocess_mode, f"{preset.preprocess_mode} {load}/{crop}")]
    if preset.no_instance:
        words.append("no instance maps")
    if preset.contain_dontcare_label:
        words.append("label 255 ignored")
    return ", ".join(words)


class _Validator(QObject):
    """Runs validate_dataset on a thread; ``finished(token, report)`` arrives on the GUI thread."""

    finished = Signal(int, object)

    def start(self, token: int, kwargs: dict) -> None:
        def work() -> None:
            try:
                report = validate_dataset(max_pixel_checks=LIVE_PIXEL_CHECKS, **kwargs)
            except Exception as exc:  # a dialog must survive any unreadable folder
                report = DatasetReport(root=None, layout=None, errors=[f"cannot check the dataset: {exc}"])
            self.finished.emit(token, report)

        threading.Thread(target=work, name="train-dialog-validate", daemon=True).start()


def _folder_row(edit: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


def suggested_run_folder(dataset: str, engine: str) -> Path | None:
    """``<dataset's parent>/runs/<dataset name>_<engine>`` (``~`` expanded), never at the filesystem root:
    a dataset right under the root gets ``~/regionpaint-runs/<name>_<engine>``. None for no dataset name."""
    text = dataset.strip()
    if not text:
        return None
    data = Path(text).expanduser().absolute()
    if not data.name:
        return None
    parent = data.parent
    base = Path.home() / "regionpaint-runs" if parent == parent.parent else parent / "runs"
    folder = base / f"{data.name}_{engine}"
    suffix = 2
    while folder.exists():  # a new job never writes into an earlier run
        folder = base / f"{data.name}_{engine}_{suffix}"
        suffix += 1
    return folder


class TrainDialog(QDialog):
    def __init__(
        self, parent: QWidget | None = None, run_folder: str | Path | None = None, settings: Any = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("trainDialog")
        self.settings = settings  # regionpaint.app.qt.settings.EditorSettings, or None (nothing remembered)
        self.trainers = registered_trainers()
        self.report: DatasetReport | None = None
        self._token = 0
        self._validator = _Validator(self)
        self._validator.finished.connect(self._on_report)
        self._timer = QTimer(self, singleShot=True, interval=VALIDATE_DELAY_MS)
        self._timer.timeout.connect(self._validate)
        self.fields: dict[str, QWidget] = {}
        self.options: dict[str, Option] = {}
        self._shown_preset: TrainOptions | None = None  # the preset the fields were last filled from
        self._field_rows: dict[str, tuple[QFormLayout, QWidget, tuple[str, ...] | None]] = {}
        self._out_chosen = run_folder is not None  # the user (or caller) chose the run folder: stop suggesting
        self._estimate_job: TrainingJob | None = None
        self.estimate: Estimate | None = None
        # The timed run's seconds per step and steps per epoch: they hold for any run length, so changing only
        # the length gives a new estimate at once; any other option makes them stale (None).
        self._timed: tuple[float, int | None] | None = None
        self._estimate_dir: Path | None = None
        self._estimate_timer = QTimer(self, interval=200)
        self._estimate_timer.timeout.connect(self._poll_estimate)
        self._build(run_folder)
        self._apply_preset()
        self._restore()

    # ---- widgets -------------------------------------------------------------------------------------
    def _build(self, run_folder: str | Path | None) -> None:
        self.engine = QComboBox(objectName="trainEngine")
        for engine, trainer in self.trainers.items():
            self.engine.addItem(trainer.display_name or engine, engine)
        self.data = QLineEdit(objectName="trainData", placeholderText="dataset folder")
        self.layout_box = QComboBox(objectName="trainLayout")
        self.layout_box.addItems(LAYOUTS)
        self.label_dir = QLineEdit(placeholderText="custom: label maps (default: labels/ under the dataset)")
        self.image_dir = QLineEdit(placeholderText="custom: photos (default: images/)")
        self.instance_dir = QLineEdit(placeholderText="custom: instance maps (optional)")
        self.status = QLabel(objectName="trainValidation", wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.status.setMinimumHeight(48)
        self.out = QLineEdit(str(run_folder or ""), objectName="trainOut", placeholderText="run folder")
        self.size_box = QComboBox(objectName="trainSize")
        self.size_box.addItems(list(RUN_SIZES))
        self.length_kind = QComboBox(objectName="trainLengthKind")
        self.length_kind.addItems(["steps", "epochs"])
        self.length = QSpinBox(objectName="trainLength", minimum=1, maximum=10**8, value=1000)
        self.device = QComboBox(objectName="trainDevice", editable=True)
        self.device.addItems(DEVICES)
        self.preset_note = QLabel(objectName="trainPreset", wordWrap=True)
        self.estimate_button = QPushButton("Estimate time", objectName="trainEstimate")
        self.estimate_label = QLabel(objectName="trainEstimateText", wordWrap=True)
        self.estimate_label.setToolTip("Runs this training for a few steps in the background and times them")

        data_form = QFormLayout()
        data_form.addRow("Engine", self.engine)
        data_form.addRow("Dataset", _folder_row(self.data, self._browse_button(self.data, "Dataset folder")))
        data_form.addRow("Layout", self.layout_box)
        self.custom_box = QGroupBox("Custom layout folders")
        custom_form = QFormLayout(self.custom_box)
        for label, edit in (("Labels", self.label_dir), ("Photos", self.image_dir), ("Instances", self.instance_dir)):
            custom_form.addRow(label, _folder_row(edit, self._browse_button(edit, label)))
        data_form.addRow(self.custom_box)
        data_form.addRow("", self.status)
        data_form.addRow("Run folder", _folder_row(self.out, self._browse_button(self.out, "Run folder")))

        length_row = QWidget()
        length_layout = QHBoxLayout(length_row)
        length_layout.setContentsMargins(0, 0, 0, 0)
        length_layout.addWidget(self.length, 1)
        length_layout.addWidget(self.length_kind)
        estimate_row = QWidget()
        estimate_layout = QHBoxLayout(estimate_row)
        estimate_layout.setContentsMargins(0, 0, 0, 0)
        estimate_layout.addWidget(self.estimate_button)
        estimate_layout.addWidget(self.estimate_label, 1)
        basic = QFormLayout()
        basic.addRow("Size", self.size_box)
        basic.addRow("Train for", length_row)
        basic.addRow("Device", self.device)
        basic.addRow("Time", estimate_row)
        self.advanced = QGroupBox("Advanced (official options)", checkable=True, checked=False)
        self.advanced_fields = QWidget(objectName="trainAdvancedFields")
        advanced_form = QFormLayout(self.advanced_fields)
        self.advanced_scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        self.advanced_scroll.setWidget(self.advanced_fields)
        self.advanced_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        QVBoxLayout(self.advanced).addWidget(self.advanced_scroll)
        owners = option_engines(self.trainers.values())
        # Run-control and data options (save/sample intervals, flips) after the training options.
        options = sorted(
            all_options(self.trainers.values()),
            key=lambda o: o.advanced and getattr(o, "group", "") in ("data", "run"),
        )
        for option in options:
            if in_dialog(option):
                self._add_field(advanced_form if option.advanced else basic, option, owners.get(option.name))
        self.advanced.toggled.connect(self._show_advanced)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start training", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("trainStart")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetFixedSize)  # grows and shrinks with Advanced
        layout.addLayout(data_form)
        layout.addWidget(self.preset_note)
        layout.addLayout(basic)
        layout.addWidget(self.advanced)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)
        for edit in (self.data, self.label_dir, self.image_dir, self.instance_dir, self.out):
            edit.setMinimumWidth(360)

        self.engine.currentIndexChanged.connect(self._apply_preset)
        self.engine.currentIndexChanged.connect(self._suggest_run_folder)
        self.layout_box.currentIndexChanged.connect(self._on_layout_changed)
        for edit in (self.data, self.label_dir, self.image_dir, self.instance_dir):
            edit.textChanged.connect(self._schedule_validation)
        self.data.textChanged.connect(self._suggest_run_folder)
        self.out.textEdited.connect(self._on_out_edited)
        self.out.textChanged.connect(self._update_start)
        self.size_box.currentIndexChanged.connect(self._apply_size)
        self.estimate_button.clicked.connect(self.start_estimate)
        for widget in (self.device, self.engine, self.data):
            signal = getattr(widget, "currentIndexChanged", None)
            (signal or widget.textChanged).connect(self._estimate_stale)
        self.length.valueChanged.connect(self._length_changed)
        self.length_kind.currentIndexChanged.connect(self._length_changed)

    def _browse_button(self, target: QLineEdit, title: str) -> QPushButton:
        button = QPushButton("Browse…")

        def browse() -> None:
            folder = QFileDialog.getExistingDirectory(self, title, target.text())
            if folder:
                if target is self.out:
                    self._out_chosen = True
                target.setText(folder)

        button.clicked.connect(browse)
        return button

    def _add_field(self, form: QFormLayout, option: Option, engines: tuple[str, ...] | None) -> None:
        widget = self._field_widget(option)
        widget.setObjectName(f"train_{option.name}")
        widget.setToolTip(option.help)
        form.addRow(option.display_label, widget)
        self.fields[option.name] = widget
        self.options[option.name] = option
        self._field_rows[option.name] = (form, widget, engines)

    def _field_widget(self, option: Option) -> QWidget:
        if option.kind == "bool":
            widget: QWidget = QCheckBox()
            widget.toggled.connect(self._update_start)
            widget.toggled.connect(self._estimate_stale)
            return widget
        if option.kind == "choice":
            widget = QComboBox()
            for choice in option.choices:
                widget.addItem(str(choice), choice)
            widget.currentIndexChanged.connect(self._estimate_stale)
            return widget
        if option.kind in ("str", "path"):
            widget = QLineEdit()
            widget.textChanged.connect(self._estimate_stale)
            return widget
        low = option.minimum if option.minimum is not None else 0
        if option.kind == "int":
            high = option.maximum if option.maximum is not None else 10**7
            # An option that may stay unset (label_nc: from the preset or the data) shows "auto" below its minimum.
            unset = option.default is None
            widget = QSpinBox(minimum=int(low) - int(unset), maximum=int(high))
            if unset:
                widget.setSpecialValueText("auto (preset / data)")
        else:
            high = option.maximum if option.maximum is not None else 10**6
            widget = QDoubleSpinBox(minimum=float(low), maximum=float(high), decimals=6, singleStep=0.0001)
        widget.valueChanged.connect(self._estimate_stale)
        return widget

    def _show_advanced(self, shown: bool) -> None:
        self._refresh_rows()

    def _refresh_rows(self) -> None:
        """Rows for the chosen engine only; advanced rows only while the group is ticked."""
        for form, widget, engines in self._field_rows.values():
            form.setRowVisible(widget, engines is None or self.engine_id in engines)
        shown = self.advanced.isChecked()
        self.advanced_scroll.setVisible(shown)
        self.advanced.setFlat(not shown)  # no empty frame while collapsed
        if shown:
            self.advanced_fields.adjustSize()
            height = self.advanced_fields.sizeHint().height()
            self.advanced_scroll.setFixedHeight(min(height + 4, ADVANCED_MAX_HEIGHT))

    # ---- presets -------------------------------------------------------------------------------------
    @property
    def engine_id(self) -> str:
        return self.engine.currentData()

    def dataset_path(self) -> str:
        """The dataset folder as typed, ``~`` expanded (the training process gets no shell to expand it)."""
        text = self.data.text().strip()
        return str(Path(text).expanduser()) if text else ""

    def resolved_layout(self) -> str:
        layout = self.layout_box.currentText()
        if layout == "auto":
            if self.report is not None and self.report.layout:
                return self.report.layout
            data = self.dataset_path()
            detected = detect_layout(data) if data and Path(data).is_dir() else None
            return detected or "custom"
        return layout

    def preset(self) -> TrainOptions:
        """Options before the user's changes: the engine's defaults and the layout's preset."""
        return defaults_for(self.engine_id, self.resolved_layout())

    def _apply_preset(self) -> None:
        """Show the preset of the current engine and layout; values the user changed stay as they are."""
        preset, shown = self.preset(), self._shown_preset
        for name, widget in self.fields.items():
            if not hasattr(preset, name):
                continue  # another engine's option (hidden)
            untouched = (
                shown is None or not hasattr(shown, name) or self._same(self._value(widget), getattr(shown, name))
            )
            if untouched:
                self._set_value(widget, getattr(preset, name))
        self._shown_preset = preset
        self._refresh_rows()
        self.custom_box.setVisible(self.layout_box.currentText() == "custom")
        ups = getattr(preset, "num_upsampling_layers", None)
        self.preset_note.setText(
            f"Preset {self.resolved_layout()} for {self.engine.currentText()}: {preset_in_words(preset)}"
        )
        self.preset_note.setToolTip(  # the same preset in the official options' names
            f"label_nc {preset.label_nc if preset.label_nc is not None else 'from the data'}, "
            f"preprocess_mode {preset.preprocess_mode}, load_size {preset.load_size}, crop_size {preset.crop_size}, "
            f"aspect_ratio {preset.aspect_ratio:g}"
            + (f", num_upsampling_layers {ups}" if ups else "")
            + (", no_instance" if preset.no_instance else "")
            + (", contain_dontcare_label" if preset.contain_dontcare_label else "")
        )
        self._update_start()

    def _apply_size(self) -> None:
        """A run size: its values in the fields (the rest keep the preset or the user's values)."""
        values = dict(RUN_SIZES[self.size_box.currentText()])
        if not values:  # back to the preset's sizes
            preset = self.preset()
            values = {name: getattr(preset, name) for name in ("ngf", "crop_size", "batchSize")}
            values["steps"] = 1000
        steps = values.pop("steps", None)
        for name, value in values.items():
            self._set_value(self.fields[name], value)
        if steps is not None:
            self.length_kind.setCurrentText("steps")
            self.length.setValue(steps)

    def _set_value(self, widget: QWidget, value) -> None:
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentIndex(max(0, widget.findData(value)))
        elif isinstance(widget, QLineEdit):
            widget.setText("" if value is None else str(value))
        elif isinstance(widget, QSpinBox):
            widget.setValue(widget.minimum() if value is None else int(value))
        else:
            widget.setValue(float(value or 0.0))

    @staticmethod
    def _same(value, preset_value) -> bool:
        """A field value equals the preset's (unset, "" and None are alike; numbers within rounding)."""
        if isinstance(value, bool):
            return value == bool(preset_value)
        if value is None or value == "":
            return preset_value in (None, "")
        if preset_value is None:
            return False
        if isinstance(value, str) or isinstance(preset_value, str):
            return str(value) == str(preset_value)
        return abs(float(value) - float(preset_value)) < 1e-12

    def _value(self, widget: QWidget):
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QLineEdit):
            return widget.text()
        if isinstance(widget, QSpinBox) and widget.specialValueText() and widget.value() == widget.minimum():
            return None  # "auto"
        return widget.value()

    def _on_layout_changed(self) -> None:
        self._apply_preset()
        self._schedule_validation()

    # ---- run folder ----------------------------------------------------------------------------------
    def _on_out_edited(self, text: str) -> None:
        self._out_chosen = bool(text.strip())  # clearing the field brings the suggestion back
        if not self._out_chosen:
            self._suggest_run_folder()

    def _suggest_run_folder(self) -> None:
        if self._out_chosen:
            return
        folder = suggested_run_folder(self.data.text(), self.engine_id)
        self.out.setText(str(folder) if folder else "")

    # ---- validation ----------------------------------------------------------------------------------
    def _schedule_validation(self) -> None:
        self.status.setText("checking…")
        self.start_button.setEnabled(False)
        self._timer.start()

    def _validate(self) -> None:
        self._token += 1
        preset = self.preset()
        label_nc = self._value(self.fields["label_nc"]) or preset.label_nc
        kwargs = {
            "root": self.dataset_path() or None,
            "layout": self.layout_box.currentText(),
            "label_dir": self._expanded(self.label_dir),
            "image_dir": self._expanded(self.image_dir),
            "instance_dir": self._expanded(self.instance_dir),
            "label_nc": label_nc,
            "contain_dontcare_label": preset.contain_dontcare_label,
        }
        self._validator.start(self._token, kwargs)

    @staticmethod
    def _expanded(edit: QLineEdit) -> str | None:
        return str(Path(edit.text().strip()).expanduser()) if edit.text().strip() else None

    def _on_report(self, token: int, report: DatasetReport) -> None:
        if token != self._token:
            return  # an older folder's answer
        had_layout = self.report.layout if self.report else None
        self.report = report
        if report.layout != had_layout and self.layout_box.currentText() == "auto":
            self._apply_preset()
        lines = report.summary().splitlines()
        verdict = "✓ " if report.ok else "✗ "
        self.status.setText(verdict + "\n".join(lines[:8]))
        self.status.setStyleSheet("" if report.ok else "color: #b00020;")
        self._update_start()

    def _update_start(self) -> None:
        ready = self.report is not None and self.report.ok and bool(self.out.text().strip())
        self.start_button.setEnabled(ready)
        self.estimate_button.setEnabled(ready and self._estimate_job is None)

    # ---- time estimate -------------------------------------------------------------------------------
    def start_estimate(self) -> None:
        """Run the same command for a few steps into a temporary folder and time them."""
        if self._estimate_job is not None:
            return
        self._estimate_dir = Path(tempfile.mkdtemp(prefix="regionpaint-estimate-"))
        argv = timing_command(self.command(), self._estimate_dir / "run")
        self._estimate_job = TrainingJob(argv, self._estimate_dir / "run").start()
        self.estimate_label.setText("timing a few steps…")
        self.estimate_button.setEnabled(False)
        self._estimate_timer.start()

    def _poll_estimate(self) -> None:
        job = self._estimate_job
        if job is None:
            return
        job.poll()
        if not job.state.finished:
            return
        self._estimate_timer.stop()
        rate = seconds_per_step(job.events)
        start = next((e for e in job.events if e.get("event") == "start"), {})
        self._timed = None if rate is None else (rate, start.get("iters_per_epoch"))
        if not self._show_estimate():
            self.estimate_label.setText(f"could not time the run: {job.progress.error or 'no steps reported'}")
        self._end_estimate()

    def _show_estimate(self) -> bool:
        """The timed rate × the steps the run is set to now; False when that cannot be said."""
        if self._timed is None:
            return False
        rate, iters_per_epoch = self._timed
        steps = planned_steps(self.length_kind.currentText(), self.length.value(), iters_per_epoch)
        if not steps:
            return False
        self.estimate = Estimate(rate, steps)
        self.estimate_label.setText(self.estimate.describe())
        return True

    def _length_changed(self, *_args) -> None:
        """A time per step does not depend on how many steps: only the total changes."""
        if self._estimate_job is None and not self._show_estimate():
            self._estimate_stale()

    def _end_estimate(self) -> None:
        job, self._estimate_job = self._estimate_job, None
        self._estimate_timer.stop()
        if job is not None and not job.state.finished:
            job.kill()
            job.wait(10)
        if self._estimate_dir is not None:
            shutil.rmtree(self._estimate_dir, ignore_errors=True)
            self._estimate_dir = None
        self._update_start()

    def _estimate_stale(self, *_args) -> None:
        if self._estimate_job is None and self.estimate_label.text():
            self._timed = None
            self.estimate_label.setText("options changed: estimate again")

    def done(self, result: int) -> None:
        self._end_estimate()  # closing the dialog never leaves a timing process behind
        if result == QDialog.DialogCode.Accepted:
            self._remember()
        super().done(result)

    # ---- remembered values ---------------------------------------------------------------------------
    def _remember(self) -> None:
        if self.settings is None:
            return
        state = {
            "engine": self.engine_id,
            "data": self.data.text(),
            "layout": self.layout_box.currentText(),
            "custom": [self.label_dir.text(), self.image_dir.text(), self.instance_dir.text()],
            "length_kind": self.length_kind.currentText(),
            "length": self.length.value(),
            "device": self.device.currentText(),
            "size": self.size_box.currentText(),
            "advanced": self.advanced.isChecked(),
            "fields": {k: v for k, v in self.given_options().items() if k in self.fields},
        }
        self.settings.set_value(SETTINGS_KEY, json.dumps(state))

    def _restore(self) -> None:
        if self.settings is None:
            return
        try:
            state = json.loads(self.settings.value(SETTINGS_KEY, "") or "{}")
        except (TypeError, ValueError):
            return  # an unreadable entry is forgotten, not an error
        if not isinstance(state, dict) or not state:
            return
        index = self.engine.findData(state.get("engine"))
        if index >= 0:
            self.engine.setCurrentIndex(index)
        self.layout_box.setCurrentText(state.get("layout", "auto"))
        for edit, text in zip(
            (self.label_dir, self.image_dir, self.instance_dir), state.get("custom", ()), strict=False
        ):
            edit.setText(text)
        self.data.setText(state.get("data", ""))
        self.size_box.setCurrentText(state.get("size", self.size_box.currentText()))
        self.length_kind.setCurrentText(state.get("length_kind", "steps"))
        self.length.setValue(int(state.get("length", self.length.value())))
        self.device.setCurrentText(state.get("device", "auto"))
        for name, value in state.get("fields", {}).items():
            if name in self.fields:
                self._set_value(self.fields[name], value)
        self.advanced.setChecked(bool(state.get("advanced", False)))

    # ---- result --------------------------------------------------------------------------------------
    def given_options(self) -> dict:
        """Options the user changed from the preset (what the command line needs to be told)."""
        preset = self.preset()
        given = {}
        for name, widget in self.fields.items():
            _, _, engines = self._field_rows[name]
            if (engines is not None and self.engine_id not in engines) or not hasattr(preset, name):
                continue
            value = self._value(widget)
            if value is None or (value == "" and not getattr(preset, name)):
                continue
            if not self._same(value, getattr(preset, name)):
                given[name] = value
        if self.layout_box.currentText() != "auto":
            given["layout"] = self.layout_box.currentText()
        if self.layout_box.currentText() == "custom":
            for name, edit in (("label_dir", self.label_dir), ("image_dir", self.image_dir)):
                if edit.text():
                    given[name] = self._expanded(edit)
            if self.instance_dir.text():
                given["instance_dir"] = self._expanded(self.instance_dir)
        given[self.length_kind.currentText()] = self.length.value()
        return given

    def command(self) -> list[str]:
        """The ``regionpaint train`` argv for the current settings (starts with ``train``)."""
        extra = ["--device", self.device.currentText()]
        out = str(Path(self.out.text().strip()).expanduser())
        return command_line(
            self.engine_id, self.dataset_path(), out, self.given_options(), extra, self.trainers.values()
        )

    def run_folder(self) -> str:
        return str(Path(self.out.text().strip()).expanduser())

    def get_command(self) -> list[str] | None:
        """Show the dialog; the argv when the user starts training, None when cancelled."""
        return self.command() if self.exec() == QDialog.DialogCode.Accepted else None
