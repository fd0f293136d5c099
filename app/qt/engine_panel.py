"""The engine panel: engine, checkpoint, device, output size, seed, noise; render controls.

Every setting goes through ``edits.set_engine_settings`` so it is saved with the document and undone
with Ctrl+Z like any edit. The engine list comes from the plugin registry (class attributes only,
so nothing here imports torch).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.model import edits
from app.qt.checkpoints import checkpoint_choices
from app.qt.editor_state import EditorState
from app.qt.settings import EditorSettings, models_dir
from engines.base import NOISE

log = logging.getLogger(__name__)

AUTO_ENGINE = ""
DEVICES = ("auto", "cpu", "cuda", "mps")
ADD_FOLDER, ADD_FILE = "add-folder", "add-file"
MAX_SEED = 2**31 - 1
SIZE_STEP = 8  # the generators' sizes are multiples of 2**upsamplings; 8 keeps typing sane


class EngineChoices(QWidget):
    """Engine, checkpoint and device pickers."""

    def __init__(
        self,
        state: EditorState,
        settings: EditorSettings,
        models_folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.models_folder = models_folder or models_dir()
        self.engine = QComboBox()
        self.engine.setObjectName("enginePicker")
        self.checkpoint = QComboBox()
        self.checkpoint.setObjectName("checkpointPicker")
        self.checkpoint.setMinimumContentsLength(14)
        self.checkpoint.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setEditable(True)  # cuda:1 and the like
        self.recognised = QLabel()
        self.recognised.setObjectName("recognisedEngine")
        self.recognised.setWordWrap(True)
        self._filled_for: str | None = None  # the checkpoint the picker was last filled for
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Engine", self.engine)
        layout.addRow("Checkpoint", self.checkpoint)
        layout.addRow("Device", self.device)
        layout.addRow("", self.recognised)
        self._fill_engines()
        self.engine.activated.connect(self._on_engine)
        self.checkpoint.activated.connect(self._on_checkpoint)
        self.device.activated.connect(self._on_device)
        self.device.lineEdit().editingFinished.connect(self._on_device)
        state.documentReplaced.connect(self.rescan)
        state.engineChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self._show_recognised)
        self.refresh()

    def rescan(self) -> None:
        """Scan the models folder and the added checkpoint paths again."""
        self._filled_for = None
        self.refresh()

    def _fill_engines(self) -> None:
        from plugins.manager import get_plugin_manager

        self.engine.addItem("Auto (from the checkpoint)", AUTO_ENGINE)
        for engine_id, entry in sorted(get_plugin_manager().engines().items()):
            self.engine.addItem(entry.engine_class.display_name, engine_id)

    def refresh(self) -> None:
        doc = self.state.document
        self.setEnabled(doc is not None)
        if doc is None:
            return
        settings = doc.engine
        self.engine.setCurrentIndex(max(0, self.engine.findData(settings.engine_id)))
        if settings.checkpoint != self._filled_for:  # a seed change must not rescan the models folder
            self._fill_checkpoints(settings.checkpoint)
        self.device.setCurrentText(settings.device)
        self._show_recognised()

    def _fill_checkpoints(self, current: str) -> None:
        self._filled_for = current
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        if not current:
            self.checkpoint.addItem("(choose a checkpoint)", "")
        for choice in checkpoint_choices(self.models_folder, self.settings.checkpoint_paths(), current):
            self.checkpoint.addItem(choice.title, str(choice.path))
            self.checkpoint.setItemData(self.checkpoint.count() - 1, str(choice.path), Qt.ItemDataRole.ToolTipRole)
        self.checkpoint.insertSeparator(self.checkpoint.count())
        self.checkpoint.addItem("Add checkpoint folder…", ADD_FOLDER)
        self.checkpoint.addItem("Add checkpoint file…", ADD_FILE)
        self.checkpoint.setCurrentIndex(max(0, self.checkpoint.findData(current)))
        self.checkpoint.setToolTip(f"{current or 'No checkpoint'}\nModels folder: {self.models_folder}")
        self.checkpoint.blockSignals(False)

    def _show_recognised(self) -> None:
        doc = self.state.document
        if doc is None:
            return
        engine_class = self.state.engine_class()
        if doc.engine.engine_id:
            self.recognised.setText("")
        elif engine_class is not None:
            self.recognised.setText(f"Recognised: {engine_class.display_name}")
        else:
            self.recognised.setText("Recognised when the checkpoint first loads")

    def _on_engine(self, index: int) -> None:
        self.state.edit(edits.set_engine_settings, engine_id=self.engine.itemData(index))

    def _on_checkpoint(self, index: int) -> None:
        data = self.checkpoint.itemData(index)
        if data in (ADD_FOLDER, ADD_FILE):
            data = self._ask_checkpoint(folder=data == ADD_FOLDER)
        if data:
            self.choose_checkpoint(Path(data))
        self.rescan()  # lists what was added, or goes back to the document's choice after a cancel

    def choose_checkpoint(self, path: Path) -> None:
        if str(path) != self.state.document.engine.checkpoint:
            self.state.edit(edits.set_engine_settings, checkpoint=str(path))

    def _ask_checkpoint(self, folder: bool) -> str:
        start = self.settings.last_folder("checkpoints") or str(self.models_folder)
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, "Checkpoint folder (or a folder of them)", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Checkpoint file", start, "Checkpoints (*.pth *.safetensors)")
        if chosen:
            self.settings.add_checkpoint_path(Path(chosen))
            self.settings.set_last_folder("checkpoints", Path(chosen))
        return chosen

    def _on_device(self, _index: int | None = None) -> None:
        device = self.device.currentText().strip() or "auto"
        doc = self.state.document
        if doc is not None and device != doc.engine.device:
            self.state.edit(edits.set_engine_settings, device=device)


class RenderSettings(QWidget):
    """Output size, seed and noise."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.custom_size = QCheckBox("Custom size")
        self.custom_size.setToolTip("Off: the checkpoint's own size")
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(SIZE_STEP, 8192)
            box.setSingleStep(SIZE_STEP)
            box.setKeyboardTracking(False)
        self.width_box.setValue(256)
        self.height_box.setValue(256)
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setKeyboardTracking(False)
        self.dice = QToolButton()
        self.dice.setText("⚄")
        self.dice.setToolTip("A new random seed")
        self.noise = QCheckBox("Noise")
        size_row = QHBoxLayout()
        size_row.addWidget(self.custom_size)
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        seed_row.addWidget(self.noise)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Size", size_row)
        layout.addRow("Seed", seed_row)
        self.custom_size.toggled.connect(self._on_size)
        self.width_box.valueChanged.connect(self._on_size)
        self.height_box.valueChanged.connect(self._on_size)
        self.seed.valueChanged.connect(self._on_seed)
        self.dice.clicked.connect(lambda: self.seed.setValue(random.randint(0, MAX_SEED)))
        self.noise.toggled.connect(self._on_noise)
        state.documentReplaced.connect(self.refresh)
        state.engineChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        doc = self.state.document
        self.setEnabled(doc is not None)
        if doc is None:
            return
        settings = doc.engine
        widgets = (self.custom_size, self.width_box, self.height_box, self.seed, self.noise)
        for widget in widgets:
            widget.blockSignals(True)
        self.custom_size.setChecked(settings.output_size is not None)
        if settings.output_size is not None:
            self.width_box.setValue(settings.output_size[0])
            self.height_box.setValue(settings.output_size[1])
        self.width_box.setEnabled(settings.output_size is not None)
        self.height_box.setEnabled(settings.output_size is not None)
        self.seed.setValue(settings.seed)
        self.noise.setChecked(settings.noise)
        known = bool(self.state.engine_id())
        self.noise.setEnabled(not known or NOISE in self.state.capabilities())
        self.noise.setToolTip("" if self.noise.isEnabled() else "This engine has no noise to switch off")
        for widget in widgets:
            widget.blockSignals(False)

    def _on_size(self) -> None:
        size = (self.width_box.value(), self.height_box.value()) if self.custom_size.isChecked() else None
        self.state.edit(edits.set_engine_settings, output_size=size)

    def _on_seed(self, value: int) -> None:
        self.state.edit(edits.set_engine_settings, seed=int(value))

    def _on_noise(self, checked: bool) -> None:
        self.state.edit(edits.set_engine_settings, noise=bool(checked))


class EnginePanel(QWidget):
    """Engine choices, render settings, and the auto-render switch with a "Render now" button."""

    renderRequested = Signal()
    autoRenderToggled = Signal(bool)
    fastPreviewToggled = Signal(bool)

    def __init__(
        self,
        state: EditorState,
        settings: EditorSettings,
        models_folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.choices = EngineChoices(state, settings, models_folder)
        self.render_settings = RenderSettings(state)
        self.auto_render = QCheckBox("Render after every change")
        self.auto_render.setChecked(True)
        self.fast_preview = QCheckBox("Fast preview")
        self.fast_preview.setChecked(True)
        self.fast_preview.setToolTip(
            "Render edits in fast reduced precision (bf16) first, then exactly as soon as you pause: "
            "the exact render is what stays on screen and what Export writes"
        )
        self.render_button = QPushButton("Render now")
        self.render_button.setToolTip("Ctrl+R")
        row = QHBoxLayout()
        row.addWidget(self.auto_render, 1)
        row.addWidget(self.fast_preview)
        row.addWidget(self.render_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.choices)
        layout.addWidget(self.render_settings)
        layout.addLayout(row)
        layout.addStretch(1)
        self.render_button.clicked.connect(self.renderRequested)
        self.auto_render.toggled.connect(self.autoRenderToggled)
        self.fast_preview.toggled.connect(self.fastPreviewToggled)
