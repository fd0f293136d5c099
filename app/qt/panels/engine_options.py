"""Engine options in the editor, generated from the engine's option schema (engines/schema.py).

Every option of the document's engine that applies to its checkpoint (``Option.requires`` met) and has a
simple kind gets a control; changing it is one undoable "Engine settings" edit of the document's engine
options. Options that a capability's own panel edits (pix2pixHD's per-object clusters) are left to it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from regionpaint.app.model import edits
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.engines.base import CAPABILITY_OPTIONS
from regionpaint.engines.schema import Option, applicable

_SIMPLE_KINDS = ("choice", "bool", "int", "float", "str", "path")


class EngineOptions(QGroupBox):
    """A form of the engine's own options; hidden when the engine (with this checkpoint) has none."""

    availabilityChanged = Signal(bool)  # whether the engine has options to show (a folding section follows it)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__("Engine options", parent)
        self.state = state
        self.controls: dict[str, QWidget] = {}
        self._form = QFormLayout(self)
        self._shown: tuple[Option, ...] = ()
        state.documentReplaced.connect(self.refresh)
        state.engineChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self.refresh)
        self.refresh()

    def options(self) -> tuple[Option, ...]:
        engine_class = self.state.engine_class()
        if self.state.document is None or engine_class is None:
            return ()
        taken = {name for names in CAPABILITY_OPTIONS.values() for name in names}
        return tuple(
            o
            for o in applicable(engine_class.options, self.state.capabilities())
            if o.kind in _SIMPLE_KINDS and o.name not in taken
        )

    def refresh(self) -> None:
        options = self.options()
        if options != self._shown:
            self._rebuild(options)
        self.setVisible(bool(options))
        self.availabilityChanged.emit(bool(options))
        doc = self.state.document
        if doc is None:
            return
        for option in options:
            self._show_value(option, doc.engine.options.get(option.name, option.default))

    def _rebuild(self, options: tuple[Option, ...]) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self.controls = {}
        for option in options:
            control = self._make_control(option)
            control.setToolTip(option.help)
            self.controls[option.name] = control
            self._form.addRow(option.display_label, control)
        self._shown = options
        if options:
            engine_class = self.state.engine_class()
            self.setTitle(f"{engine_class.display_name} options" if engine_class is not None else "Engine options")

    def _make_control(self, option: Option) -> QWidget:
        if option.kind == "choice":
            combo = QComboBox()
            for choice in option.choices:
                combo.addItem(str(choice), choice)
            combo.activated.connect(lambda _i, o=option, c=combo: self._set(o, c.currentData()))
            return combo
        if option.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda checked, o=option: self._set(o, bool(checked)))
            return box
        if option.kind in ("int", "float"):
            spin = QSpinBox() if option.kind == "int" else QDoubleSpinBox()
            spin.setKeyboardTracking(False)  # one edit when typing is done, not one per digit
            low = option.minimum if option.minimum is not None else -1e9
            high = option.maximum if option.maximum is not None else 1e9
            spin.setRange(int(low) if option.kind == "int" else low, int(high) if option.kind == "int" else high)
            spin.valueChanged.connect(lambda value, o=option: self._set(o, value))
            return spin
        line = QLineEdit()
        line.editingFinished.connect(lambda o=option, e=line: self._set(o, e.text()))
        return line

    def _show_value(self, option: Option, value: Any) -> None:
        control = self.controls.get(option.name)
        if control is None:
            return
        control.blockSignals(True)
        try:
            if isinstance(control, QComboBox):
                control.setCurrentIndex(max(0, control.findData(value)))
            elif isinstance(control, QCheckBox):
                control.setChecked(bool(value))
            elif isinstance(control, (QSpinBox, QDoubleSpinBox)):
                control.setValue(value if value is not None else 0)
            elif isinstance(control, QLineEdit):
                control.setText("" if value is None else str(value))
        finally:
            control.blockSignals(False)

    def _set(self, option: Option, value: Any) -> None:
        doc = self.state.document
        if doc is None or doc.engine.options.get(option.name, option.default) == value:
            return
        self.state.edit(edits.set_engine_settings, options={**doc.engine.options, option.name: option.parse(value)})
