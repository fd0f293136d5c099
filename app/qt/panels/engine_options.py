"""Engine options in the editor, generated from the engine's option schema (engines/schema.py).

Every option of the document's engine that applies to its checkpoint (``Option.requires`` met) and has a
simple kind gets a control (:func:`editable_options`); changing it is one undoable "Engine settings" edit of
the document's engine options. Options that a capability's own panel edits (pix2pixHD's per-object clusters)
are left to it. :class:`OptionForm` is the controls alone, also used by the Batch dialog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.model import edits
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.engines.base import CAPABILITY_OPTIONS
from regionpaint.engines.schema import Option, applicable

_SIMPLE_KINDS = ("choice", "bool", "int", "float", "str", "path")


def editable_options(engine_class: Any, capabilities: Iterable[str]) -> tuple[Option, ...]:
    """The engine's options that get a control for a checkpoint with these capabilities: ``requires`` met,
    a simple kind, and not edited by a capability's own panel (pix2pixHD's clusters)."""
    if engine_class is None:
        return ()
    taken = {name for names in CAPABILITY_OPTIONS.values() for name in names}
    return tuple(
        o for o in applicable(engine_class.options, capabilities) if o.kind in _SIMPLE_KINDS and o.name not in taken
    )


class OptionForm(QWidget):
    """A form with one control per option; ``changed(name, value)`` when the person edits one (the value
    parsed by the option). Showing values (:meth:`show_values`) emits nothing."""

    changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls: dict[str, QWidget] = {}
        self.shown: tuple[Option, ...] = ()
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)

    def set_options(self, options: tuple[Option, ...]) -> None:
        """Controls for ``options`` (rebuilt only when they differ from those shown)."""
        if options == self.shown:
            return
        while self._form.rowCount():
            self._form.removeRow(0)
        self.controls = {}
        for option in options:
            control = self._make_control(option)
            control.setToolTip(option.help)
            self.controls[option.name] = control
            self._form.addRow(option.display_label, control)
        self.shown = options

    def show_values(self, values: Mapping[str, Any]) -> None:
        """Each control shows its option's value in ``values`` (its default when absent)."""
        for option in self.shown:
            self._show_value(option, values.get(option.name, option.default))

    def values(self) -> dict[str, Any]:
        """``{name: value}`` of every control, parsed by its option."""
        out: dict[str, Any] = {}
        for option in self.shown:
            control = self.controls[option.name]
            if isinstance(control, QComboBox):
                value: Any = control.currentData()
            elif isinstance(control, QCheckBox):
                value = control.isChecked()
            elif isinstance(control, (QSpinBox, QDoubleSpinBox)):
                value = control.value()
            else:
                value = control.text()
            out[option.name] = option.parse(value)
        return out

    def _emit(self, option: Option, value: Any) -> None:
        self.changed.emit(option.name, option.parse(value))

    def _make_control(self, option: Option) -> QWidget:
        if option.kind == "choice":
            combo = QComboBox()
            for choice in option.choices:
                combo.addItem(str(choice), choice)
            combo.activated.connect(lambda _i, o=option, c=combo: self._emit(o, c.currentData()))
            return combo
        if option.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda checked, o=option: self._emit(o, bool(checked)))
            return box
        if option.kind in ("int", "float"):
            spin = QSpinBox() if option.kind == "int" else QDoubleSpinBox()
            spin.setKeyboardTracking(False)  # one edit when typing is done, not one per digit
            low = option.minimum if option.minimum is not None else -1e9
            high = option.maximum if option.maximum is not None else 1e9
            spin.setRange(int(low) if option.kind == "int" else low, int(high) if option.kind == "int" else high)
            spin.valueChanged.connect(lambda value, o=option: self._emit(o, value))
            return spin
        line = QLineEdit()
        line.editingFinished.connect(lambda o=option, e=line: self._emit(o, e.text()))
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


class EngineOptions(QGroupBox):
    """A form of the engine's own options; hidden when the engine (with this checkpoint) has none."""

    availabilityChanged = Signal(bool)  # whether the engine has options to show (a folding section follows it)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__("Engine options", parent)
        self.state = state
        self.heading = "Engine options"  # "SEAN options": the box's title, or its folding section's
        self.titled = True  # False inside a section that carries the heading
        self.form = OptionForm(self)
        QVBoxLayout(self).addWidget(self.form)
        self.form.changed.connect(self._set)
        state.documentReplaced.connect(self.refresh)
        state.engineChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self.refresh)
        self.refresh()

    @property
    def controls(self) -> dict[str, QWidget]:
        return self.form.controls

    def options(self) -> tuple[Option, ...]:
        if self.state.document is None:
            return ()
        return editable_options(self.state.engine_class(), self.state.capabilities())

    def refresh(self) -> None:
        options = self.options()
        if options != self.form.shown:
            self.form.set_options(options)
            engine_class = self.state.engine_class()
            if options and engine_class is not None:
                self.heading = f"{engine_class.display_name} options"
                self.setTitle(self.heading if self.titled else "")
        self.setVisible(bool(options))
        self.availabilityChanged.emit(bool(options))
        doc = self.state.document
        if doc is not None:
            self.form.show_values(doc.engine.options)

    def _set(self, name: str, value: Any) -> None:
        doc = self.state.document
        option = next((o for o in self.form.shown if o.name == name), None)
        if doc is None or option is None or doc.engine.options.get(name, option.default) == value:
            return
        self.state.edit(edits.set_engine_settings, options={**doc.engine.options, name: value})
