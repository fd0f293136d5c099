"""A two-source style control: source A, a slider, source B (or none).

It shows a mix (``show_mix``) and reports every change the person makes as the new mix at once
(``mixEdited``): choosing A alone gives ``((A, 1),)``; choosing a B as well gives
``((A, 1 - t), (B, t))`` with t the slider (0..100 %). There is no separate "apply" step, so what the
control shows is what the document holds. A drag is reported as ``dragStarted`` / ``dragFinished``
so the owner can make the whole drag one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from regionpaint.app.model.document import StyleMix

SLIDER_STEPS = 100
NO_SOURCE = "—"  # B: no second source
VARIOUS = "(various)"  # the selected regions hold different mixes
FIRST_MIX = 50  # choosing a second source starts half way


class MixSlider(QWidget):
    mixEdited = Signal(object)  # StyleMix
    dragStarted = Signal()
    dragFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_a = QComboBox()
        self.source_b = QComboBox()
        for combo in (self.source_a, self.source_b):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(4)
        self.source_a.setToolTip("Style source")
        self.source_b.setToolTip("A second source to blend in (— for none)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setPageStep(10)
        self.slider.setToolTip("How much of the second source")
        self.value_label = QLabel("")
        self.value_label.setMinimumWidth(34)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_a)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.source_b)
        layout.addWidget(self.value_label)
        self._names: list[str] = []
        self.slider.valueChanged.connect(self._on_value)
        self.slider.sliderPressed.connect(self.dragStarted)
        self.slider.sliderReleased.connect(self.dragFinished)
        self.source_a.currentIndexChanged.connect(self._on_source_a)
        self.source_b.currentIndexChanged.connect(self._on_source_b)

    # -- what the owner sets -------------------------------------------------------------------
    def set_sources(self, names: Sequence[str]) -> None:
        """The style sources to choose from (call :meth:`show_mix` after it)."""
        self._names = list(names)
        self.show_mix(self.current_mix())

    def show_mix(self, mix: StyleMix | None) -> None:
        """Show ``mix`` without emitting; None means the selected regions differ ("various").

        One source: A = it, B = none. Two: A, B and t. More: the first two, their share in t.
        """
        with _Silenced(self.source_a, self.source_b, self.slider):
            self._fill(self.source_a, [] if mix else [""] if mix is not None else [VARIOUS])
            self._fill(self.source_b, [NO_SOURCE])
            if mix:
                names = [name for name, _ in mix]
                self._choose(self.source_a, names[0])
                if len(mix) >= 2:
                    self._choose(self.source_b, names[1])
                    total = mix[0][1] + mix[1][1]
                    self.slider.setValue(round(mix[1][1] / total * SLIDER_STEPS) if total > 0 else 0)
                else:
                    self.slider.setValue(0)
            else:
                self.source_a.setCurrentIndex(0)
                self.slider.setValue(0)
        self._update_enabled()

    def current_mix(self) -> StyleMix:
        a, b = self.source_a.currentText(), self.source_b.currentText()
        if a in ("", VARIOUS):
            return ()
        if b in ("", NO_SOURCE) or a == b:
            return ((a, 1.0),)
        t = self.slider.value() / SLIDER_STEPS
        return ((a, 1.0 - t), (b, t))

    # -- internals -----------------------------------------------------------------------------
    def _fill(self, combo: QComboBox, first: list[str]) -> None:
        combo.clear()
        combo.addItems([*first, *self._names])

    def _choose(self, combo: QComboBox, name: str) -> None:
        index = combo.findText(name)
        if index < 0:  # an engine style ("@random") or a source the list does not hold
            combo.addItem(name)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def _on_source_a(self) -> None:
        # "(various)" / blank stop being offered once the person chose a real source.
        for placeholder in (VARIOUS, ""):
            index = self.source_a.findText(placeholder)
            if index >= 0 and self.source_a.currentIndex() != index:
                with _Silenced(self.source_a):
                    self.source_a.removeItem(index)
        self._emit()

    def _on_source_b(self) -> None:
        if self.source_b.currentText() not in ("", NO_SOURCE) and self.slider.value() == 0:
            with _Silenced(self.slider):
                self.slider.setValue(FIRST_MIX)
        self._emit()

    def _on_value(self, _value: int) -> None:
        self._emit()

    def _emit(self) -> None:
        self._update_enabled()
        mix = self.current_mix()
        if mix:
            self.mixEdited.emit(mix)

    def _update_enabled(self) -> None:
        mix = self.current_mix()
        self.slider.setEnabled(len(mix) == 2)
        self.value_label.setText(f"{self.slider.value()}%" if len(mix) == 2 else "")


class _Silenced:
    """Block the signals of some widgets for the duration of a ``with``."""

    def __init__(self, *widgets: QWidget) -> None:
        self.widgets = widgets

    def __enter__(self) -> None:
        self.previous = [widget.blockSignals(True) for widget in self.widgets]

    def __exit__(self, *_exc) -> None:
        for widget, previous in zip(self.widgets, self.previous, strict=True):
            widget.blockSignals(previous)
