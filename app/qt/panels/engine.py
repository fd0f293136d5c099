"""The engine panel: engine, checkpoint, device, output size, seed, noise; render controls.

Every setting goes through ``edits.set_engine_settings`` so it is saved with the document and undone
with Ctrl+Z like any edit. The engine list comes from the plugin registry (class attributes only,
so nothing here imports torch).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import QSignalDebouncer

from regionpaint.app.model import edits
from regionpaint.app.qt.collapsible import RememberedSection
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.panels.checkpoint_picker import CheckpointPicker
from regionpaint.app.qt.panels.photo_edit import CompositeControls
from regionpaint.app.qt.settings import EditorSettings, models_dir
from regionpaint.engines.base import NOISE

log = logging.getLogger(__name__)

AUTO_ENGINE = ""
DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_SEED = 2**31 - 1
SIZE_STEP = 8  # the generators' sizes are multiples of 2**upsamplings; 8 keeps typing sane
SIZE_DEBOUNCE_MS = 500  # typing 1024 or holding an arrow key renders once, after the last change


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
        self.checkpoint = CheckpointPicker(settings, self.models_folder)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setEditable(True)  # cuda:1 and the like
        self.recognised = QLabel()
        self.recognised.setObjectName("recognisedEngine")
        self.recognised.setWordWrap(True)
        self._filled_for: tuple[str, bool] | None = None  # (checkpoint, weightless) the picker was filled for
        layout = self._form = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Engine", self.engine)
        layout.addRow("Model", self.checkpoint)
        layout.addRow("", self.recognised)
        # The device is set once per machine: the engine panel shows it under "More settings".
        self.device_row = QWidget()
        device_layout = QFormLayout(self.device_row)
        device_layout.setContentsMargins(0, 0, 0, 0)
        device_layout.addRow("Device", self.device)
        self._fill_engines()
        self.engine.activated.connect(self._on_engine)
        self.checkpoint.checkpointChosen.connect(self._on_checkpoint)
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
        from regionpaint.plugins.manager import get_plugin_manager

        self.engine.addItem("Auto (from the checkpoint)", AUTO_ENGINE)
        for engine_id, entry in sorted(get_plugin_manager().engines().items()):
            cls = entry.engine_class
            # Engines without weights say so: they render with no checkpoint chosen.
            title = cls.display_name if cls.needs_checkpoint else f"{cls.display_name} (no checkpoint)"
            self.engine.addItem(title, engine_id)

    def reload_engines(self) -> None:
        """Fill the engine picker again from the plugin registry (after a plugin was installed or removed)."""
        self.engine.blockSignals(True)
        self.engine.clear()
        self._fill_engines()
        self.engine.blockSignals(False)
        self._filled_for = None
        self.refresh()

    def refresh(self) -> None:
        doc = self.state.document
        self.setEnabled(doc is not None)
        if doc is None:
            return
        settings = doc.engine
        self.engine.setCurrentIndex(max(0, self.engine.findData(settings.engine_id)))
        weightless = not self.state.engine_needs_checkpoint()
        if (settings.checkpoint, weightless) != self._filled_for:  # a seed change must not rescan the models folder
            self._fill_checkpoints(settings.checkpoint, weightless)
        self.device.setCurrentText(settings.device)
        self._show_recognised()

    def _fill_checkpoints(self, current: str, weightless: bool = False) -> None:
        self._filled_for = (current, weightless)
        self.checkpoint.fill(current, weightless)

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
        self._form.setRowVisible(self.recognised, bool(self.recognised.text()))  # no empty row: nothing to say

    def _on_engine(self, index: int) -> None:
        from regionpaint.plugins.manager import get_plugin_manager

        engine_id = self.engine.itemData(index)
        # The package providing the engine goes into the project, so a missing one can be named later.
        package, version = get_plugin_manager().engine_provider(engine_id) if engine_id else ("", "")
        self.state.edit(edits.set_engine_settings, engine_id=engine_id, package=package, package_version=version)

    def _on_checkpoint(self, path: str) -> None:
        self.choose_checkpoint(Path(path))
        self.rescan()  # lists what was added

    def choose_checkpoint(self, path: Path) -> None:
        if str(path) != self.state.document.engine.checkpoint:
            self.state.edit(edits.set_engine_settings, checkpoint=str(path))

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
        self.width_box.setValue(256)
        self.height_box.setValue(256)
        # Every keystroke and arrow step updates the box; the document (and a render) follows once.
        self.size_debouncer = QSignalDebouncer(parent=self)
        self.size_debouncer.setTimeout(SIZE_DEBOUNCE_MS)
        self._typing_size = False
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
        self.size_debouncer.triggered.connect(self._on_size)
        for box in (self.width_box, self.height_box):
            box.valueChanged.connect(self._size_typed)
            box.editingFinished.connect(lambda: self.size_debouncer.flush(restart_timer=False))  # Enter: now
        self.seed.valueChanged.connect(self._on_seed)
        self.dice.clicked.connect(lambda: self.seed.setValue(random.randint(0, MAX_SEED)))
        self.noise.toggled.connect(self._on_noise)
        state.documentReplaced.connect(self.refresh)
        state.engineChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self.refresh)
        state.renderChanged.connect(self.refresh)
        self.refresh()

    def rendered_size(self) -> tuple[int, int] | None:
        """(W, H) of the last render: the checkpoint's own size when no custom size is set."""
        doc = self.state.document
        if doc is None or doc.last_render is None:
            return None
        height, width = doc.last_render.image.shape[:2]
        return width, height

    def refresh(self) -> None:
        doc = self.state.document
        self.setEnabled(doc is not None)
        if doc is None:
            return
        if self._typing_size:
            return  # the person is typing a size; the boxes hold what they typed
        settings = doc.engine
        widgets = (self.custom_size, self.width_box, self.height_box, self.seed, self.noise)
        for widget in widgets:
            widget.blockSignals(True)
        custom = settings.output_size is not None
        self.custom_size.setChecked(custom)
        shown = settings.output_size if custom else self.rendered_size()
        for box, value in zip((self.width_box, self.height_box), shown or (None, None), strict=True):
            # Off and not rendered yet: "auto" (the special text shows at the minimum value).
            box.setSpecialValueText("" if custom or value is not None else "auto")
            box.setValue(box.minimum() if value is None else value)
            box.setEnabled(custom)
        self.custom_size.setToolTip(
            "Off: the checkpoint's own size"
            + ("" if custom or shown is None else f" ({shown[0]}×{shown[1]}, from the last render)")
        )
        self.seed.setValue(settings.seed)
        self.noise.setChecked(settings.noise)
        known = bool(self.state.engine_id())
        self.noise.setEnabled(not known or NOISE in self.state.capabilities())
        self.noise.setToolTip("" if self.noise.isEnabled() else "This engine has no noise to switch off")
        for widget in widgets:
            widget.blockSignals(False)

    def _size_typed(self) -> None:
        self._typing_size = True
        self.size_debouncer.throttle()

    def _on_size(self) -> None:
        self._typing_size = False
        if self.custom_size.isChecked():
            doc = self.state.document
            start = self.rendered_size() or (None if doc is None else doc.size)
            for box, value in zip((self.width_box, self.height_box), start or (None, None), strict=True):
                if box.specialValueText():  # just switched on before any render: start from the label map
                    box.setSpecialValueText("")
                    box.blockSignals(True)
                    box.setValue(value or box.value())
                    box.blockSignals(False)
                box.setEnabled(True)
            size = (self.width_box.value(), self.height_box.value())
        else:
            size = None
        self.state.edit(edits.set_engine_settings, output_size=size)

    def _on_seed(self, value: int) -> None:
        self.state.edit(edits.set_engine_settings, seed=int(value))

    def _on_noise(self, checked: bool) -> None:
        self.state.edit(edits.set_engine_settings, noise=bool(checked))


COMPILE_SETTING = "render/compile_fast_preview"


class EnginePanel(QWidget):
    """Engine choices, render settings, and the auto-render switch with a "Render now" button."""

    renderRequested = Signal()
    autoRenderToggled = Signal(bool)
    fastPreviewToggled = Signal(bool)
    compileToggled = Signal(bool)

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
        self.composite_controls = CompositeControls(state)  # photo edits: how the render goes onto the photo
        self.auto_render = QCheckBox("Render after every change")
        self.auto_render.setChecked(True)
        self.fast_preview = QCheckBox("Fast preview")
        self.fast_preview.setChecked(True)
        self.fast_preview.setToolTip(
            "Render edits in fast reduced precision (bf16) first, then exactly as soon as you pause: "
            "the exact render is what stays on screen and what Export writes"
        )
        # Opt-in: a first compile takes 20-60 s of both cores of a laptop per image size (cached on disk after).
        self.compile_fast = QCheckBox("Compile")
        self.compile_fast.setChecked(settings.value(COMPILE_SETTING, False, bool))
        self.compile_fast.setToolTip(
            "Compile the fast preview's generator with torch.compile in the background (20-60 s per image size "
            "the first time, remembered on disk); previews render as before until it is ready, then compiled. "
            "It pays on a GPU; on a CPU the eager preview is usually as fast or faster (docs/performance.md)"
        )
        self.compile_fast.setEnabled(self.fast_preview.isChecked())
        self.render_button = QPushButton("Render now")
        self.render_button.setToolTip("Ctrl+R")
        row = QHBoxLayout()
        row.addWidget(self.auto_render, 1)
        row.addWidget(self.fast_preview)
        row.addWidget(self.render_button)
        # What a person sets once (device, output size, seed, compile) folds away; the state is remembered.
        advanced = QWidget()
        advanced_layout = QVBoxLayout(advanced)
        advanced_layout.setContentsMargins(0, 0, 0, 0)
        advanced_layout.addWidget(self.choices.device_row)
        advanced_layout.addWidget(self.render_settings)
        advanced_layout.addWidget(self.compile_fast)
        self.advanced = RememberedSection("More settings: device, size, seed", "engine_advanced", settings, advanced)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.choices)
        layout.addWidget(self.composite_controls)
        layout.addLayout(row)
        layout.addWidget(self.advanced)
        layout.addStretch(1)
        self.render_button.clicked.connect(self.renderRequested)
        self.auto_render.toggled.connect(self.autoRenderToggled)
        self.fast_preview.toggled.connect(self.fastPreviewToggled)
        self.fast_preview.toggled.connect(self.compile_fast.setEnabled)
        self.compile_fast.toggled.connect(lambda on: settings.set_value(COMPILE_SETTING, on))
        self.compile_fast.toggled.connect(self.compileToggled)
