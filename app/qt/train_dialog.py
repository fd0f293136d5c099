"""The training dialog: engine, dataset folder (validated while typing), run folder, options with presets.

``TrainDialog(parent).get_command()`` shows the dialog and returns the ``regionpaint train`` argv (starting with
``train``) or None when cancelled; :meth:`TrainDialog.command` builds it without showing the dialog. Only options
that differ from the engine's defaults and the dataset layout's preset are written, so the command line applies
the same presets the dialog showed. Validation runs on a background thread (it opens image files).
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
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engines.training.flags import command_line
from engines.training.layouts import detect_layout
from engines.training.options import ENGINES, LAYOUTS, TrainOptions, defaults_for
from engines.training.validation import DatasetReport, validate_dataset

log = logging.getLogger(__name__)

ENGINE_NAMES = {"spade": "SPADE (GauGAN)", "sean": "SEAN", "pix2pixhd": "pix2pixHD"}
DEVICES = ("auto", "cpu", "cuda", "mps")
LIVE_PIXEL_CHECKS = 25  # label maps decoded while typing; the trainer checks all of them
VALIDATE_DELAY_MS = 350

# (option, label, kind, minimum, maximum, engines or None for all); kind: int, float, bool
BASIC_FIELDS = (
    ("batchSize", "Batch size", int, 1, 1024, None),
    ("crop_size", "Crop size", int, 16, 4096, None),
    ("ngf", "Generator width (ngf)", int, 1, 512, None),
    ("label_nc", "Label classes (0 = preset / data)", int, 0, 255, None),
)
ADVANCED_FIELDS = (
    ("lr", "Learning rate", float, 0.0, 1.0, None),
    ("niter", "Epochs at full lr (niter)", int, 0, 100000, None),
    ("niter_decay", "Epochs of decay (niter_decay)", int, 0, 100000, None),
    ("ndf", "Discriminator width (ndf)", int, 1, 512, None),
    ("num_D", "Discriminator scales (num_D)", int, 1, 8, None),
    ("n_layers_D", "Layers per discriminator", int, 1, 8, None),
    ("lambda_feat", "Feature matching weight", float, 0.0, 1000.0, None),
    ("lambda_vgg", "VGG weight", float, 0.0, 1000.0, ("spade", "sean")),
    ("lambda_kld", "KL weight", float, 0.0, 10.0, ("spade",)),
    ("use_vae", "Train the VAE encoder (use_vae)", bool, 0, 1, ("spade",)),
    ("no_TTUR", "No TTUR (same lr for G and D)", bool, 0, 1, ("spade", "sean")),
    ("style_length", "Style code length", int, 1, 1024, ("sean",)),
    ("instance_feat", "Train the feature encoder (instance_feat)", bool, 0, 1, ("pix2pixhd",)),
    ("n_clusters", "Feature clusters per class", int, 1, 100, ("pix2pixhd",)),
    ("niter_fix_global", "Epochs training only the local enhancer", int, 0, 1000, ("pix2pixhd",)),
    ("no_vgg_loss", "No VGG perceptual loss", bool, 0, 1, None),
    ("no_flip", "No random flips", bool, 0, 1, None),
    ("save_every", "Save every N iterations", int, 1, 10**7, None),
    ("sample_every", "Sample every N iterations", int, 1, 10**7, None),
)


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


class TrainDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, run_folder: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("trainDialog")
        self.report: DatasetReport | None = None
        self._token = 0
        self._validator = _Validator(self)
        self._validator.finished.connect(self._on_report)
        self._timer = QTimer(self, singleShot=True, interval=VALIDATE_DELAY_MS)
        self._timer.timeout.connect(self._validate)
        self.fields: dict[str, QWidget] = {}
        self._shown_preset: TrainOptions | None = None  # the preset the fields were last filled from
        self._field_rows: dict[str, tuple[QFormLayout, QWidget, tuple[str, ...] | None]] = {}
        self._build(run_folder)
        self._apply_preset()

    # ---- widgets -------------------------------------------------------------------------------------
    def _build(self, run_folder: str | Path | None) -> None:
        self.engine = QComboBox(objectName="trainEngine")
        for engine in ENGINES:
            self.engine.addItem(ENGINE_NAMES[engine], engine)
        self.data = QLineEdit(objectName="trainData", placeholderText="dataset folder")
        self.layout_box = QComboBox(objectName="trainLayout")
        self.layout_box.addItems(LAYOUTS)
        self.label_dir = QLineEdit(placeholderText="custom: label maps (default: labels/ under the dataset)")
        self.image_dir = QLineEdit(placeholderText="custom: photos (default: images/)")
        self.instance_dir = QLineEdit(placeholderText="custom: instance maps (optional)")
        self.status = QLabel(objectName="trainValidation", wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.status.setMinimumHeight(48)
        self.out = QLineEdit(str(run_folder or ""), objectName="trainOut", placeholderText="run folder")
        self.length_kind = QComboBox(objectName="trainLengthKind")
        self.length_kind.addItems(["steps", "epochs"])
        self.length = QSpinBox(objectName="trainLength", minimum=1, maximum=10**8, value=1000)
        self.device = QComboBox(objectName="trainDevice", editable=True)
        self.device.addItems(DEVICES)
        self.preset_note = QLabel(objectName="trainPreset", wordWrap=True)

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
        basic = QFormLayout()
        basic.addRow("Train for", length_row)
        basic.addRow("Device", self.device)
        for spec in BASIC_FIELDS:
            self._add_field(basic, spec)
        self.advanced = QGroupBox("Advanced (official options)", checkable=True, checked=False)
        advanced_form = QFormLayout(self.advanced)
        for spec in ADVANCED_FIELDS:
            self._add_field(advanced_form, spec)
        self.advanced.toggled.connect(self._show_advanced)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start training", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("trainStart")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(data_form)
        layout.addWidget(self.preset_note)
        layout.addLayout(basic)
        layout.addWidget(self.advanced)
        layout.addWidget(self.buttons)

        self.engine.currentIndexChanged.connect(self._apply_preset)
        self.layout_box.currentIndexChanged.connect(self._on_layout_changed)
        for edit in (self.data, self.label_dir, self.image_dir, self.instance_dir):
            edit.textChanged.connect(self._schedule_validation)
        self.data.textChanged.connect(self._suggest_run_folder)
        self.out.textChanged.connect(self._update_start)

    def _browse_button(self, target: QLineEdit, title: str) -> QPushButton:
        button = QPushButton("Browse…")

        def browse() -> None:
            folder = QFileDialog.getExistingDirectory(self, title, target.text())
            if folder:
                target.setText(folder)

        button.clicked.connect(browse)
        return button

    def _add_field(self, form: QFormLayout, spec) -> None:
        name, label, kind, low, high, engines = spec
        if kind is bool:
            widget: QWidget = QCheckBox()
            widget.toggled.connect(self._update_start)
        elif kind is int:
            widget = QSpinBox(minimum=int(low), maximum=int(high))
        else:
            widget = QDoubleSpinBox(minimum=low, maximum=high, decimals=6, singleStep=0.0001)
        widget.setObjectName(f"train_{name}")
        form.addRow(label, widget)
        self.fields[name] = widget
        self._field_rows[name] = (form, widget, engines)

    def _show_advanced(self, shown: bool) -> None:
        self._refresh_rows()

    def _refresh_rows(self) -> None:
        """Rows for the chosen engine only; advanced rows only while the group is ticked."""
        advanced = self.advanced.layout()
        for form, widget, engines in self._field_rows.values():
            visible = engines is None or self.engine_id in engines
            form.setRowVisible(widget, visible and (form is not advanced or self.advanced.isChecked()))

    # ---- presets -------------------------------------------------------------------------------------
    @property
    def engine_id(self) -> str:
        return self.engine.currentData()

    def resolved_layout(self) -> str:
        layout = self.layout_box.currentText()
        if layout == "auto":
            if self.report is not None and self.report.layout:
                return self.report.layout
            detected = detect_layout(self.data.text()) if self.data.text() and Path(self.data.text()).is_dir() else None
            return detected or "custom"
        return layout

    def preset(self) -> TrainOptions:
        """Options before the user's changes: the engine's defaults and the layout's preset."""
        return defaults_for(self.engine_id, self.resolved_layout())

    def _apply_preset(self) -> None:
        """Show the preset of the current engine and layout; values the user changed stay as they are."""
        preset, shown = self.preset(), self._shown_preset
        for name, widget in self.fields.items():
            untouched = shown is None or self._same(self._value(widget), getattr(shown, name))
            if untouched:
                self._set_value(widget, getattr(preset, name))
        self._shown_preset = preset
        self._refresh_rows()
        self.custom_box.setVisible(self.layout_box.currentText() == "custom")
        self.preset_note.setText(
            f"Preset {self.resolved_layout()} for {ENGINE_NAMES[self.engine_id]}: label_nc "
            f"{preset.label_nc if preset.label_nc is not None else 'from the data'}, {preset.preprocess_mode} "
            f"{preset.load_size}/{preset.crop_size}, aspect {preset.aspect_ratio:g}"
            + (f", {preset.num_upsampling_layers} upsampling" if self.engine_id != "pix2pixhd" else "")
            + (", no instance maps" if preset.no_instance else "")
            + (", 255 = don't care" if preset.contain_dontcare_label else "")
        )
        self._update_start()

    @staticmethod
    def _set_value(widget: QWidget, value) -> None:
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(value or 0))
        else:
            widget.setValue(float(value or 0.0))

    @staticmethod
    def _same(value, preset_value) -> bool:
        if isinstance(value, bool) or preset_value is None:
            return bool(value) == bool(preset_value)
        return abs(float(value) - float(preset_value)) < 1e-12

    @staticmethod
    def _value(widget: QWidget):
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        return widget.value()

    def _on_layout_changed(self) -> None:
        self._apply_preset()
        self._schedule_validation()

    def _suggest_run_folder(self, text: str) -> None:
        if text and not self.out.text():
            self.out.setText(str(Path(text).parent / "runs" / f"{Path(text).name}_{self.engine_id}"))

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
            "root": self.data.text() or None,
            "layout": self.layout_box.currentText(),
            "label_dir": self.label_dir.text() or None,
            "image_dir": self.image_dir.text() or None,
            "instance_dir": self.instance_dir.text() or None,
            "label_nc": label_nc,
            "contain_dontcare_label": preset.contain_dontcare_label,
        }
        self._validator.start(self._token, kwargs)

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

    # ---- result --------------------------------------------------------------------------------------
    def given_options(self) -> dict:
        """Options the user changed from the preset (what the command line needs to be told)."""
        preset = self.preset()
        given = {}
        for name, widget in self.fields.items():
            _, _, engines = self._field_rows[name]
            if engines is not None and self.engine_id not in engines:
                continue
            value = self._value(widget)
            if name == "label_nc" and value == 0:
                continue
            if not self._same(value, getattr(preset, name)):
                given[name] = value
        if self.layout_box.currentText() != "auto":
            given["layout"] = self.layout_box.currentText()
        if self.layout_box.currentText() == "custom":
            for name, edit in (("label_dir", self.label_dir), ("image_dir", self.image_dir)):
                if edit.text():
                    given[name] = edit.text()
            if self.instance_dir.text():
                given["instance_dir"] = self.instance_dir.text()
        given[self.length_kind.currentText()] = self.length.value()
        return given

    def command(self) -> list[str]:
        """The ``regionpaint train`` argv for the current settings (starts with ``train``)."""
        extra = ["--device", self.device.currentText()]
        return command_line(self.engine_id, self.data.text(), self.out.text(), self.given_options(), extra)

    def run_folder(self) -> str:
        return self.out.text()

    def get_command(self) -> list[str] | None:
        """Show the dialog; the argv when the user starts training, None when cancelled."""
        return self.command() if self.exec() == QDialog.DialogCode.Accepted else None
