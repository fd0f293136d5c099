"""A two-source style interpolation control: source A, a slider, source B.

The slider's value t (0..100 %) makes the mix ``((A, 1 - t), (B, t))``. A drag is reported as
``dragStarted`` / ``dragFinished`` so the owner can make the whole drag one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from app.model.document import StyleMix

SLIDER_STEPS = 100


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
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setPageStep(10)
        self.value_label = QLabel("0%")
        self.value_label.setMinimumWidth(34)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_a)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.source_b)
        layout.addWidget(self.value_label)
        self.slider.valueChanged.connect(self._on_value)
        self.slider.sliderPressed.connect(self.dragStarted)
        self.slider.sliderReleased.connect(self.dragFinished)
        self.source_a.currentIndexChanged.connect(self._on_sources_changed)
        self.source_b.currentIndexChanged.connect(self._on_sources_changed)

    # -- what the owner sets -------------------------------------------------------------------
    def set_sources(self, names: Sequence[str]) -> None:
        """The style sources to choose from; keeps the current choices that still exist."""
        keep_a, keep_b = self.source_a.currentText(), self.source_b.currentText()
        for combo, keep, fallback in ((self.source_a, keep_a, 0), (self.source_b, keep_b, 1)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(names))
            index = combo.findText(keep)
            combo.setCurrentIndex(index if index >= 0 else min(fallback, len(names) - 1))
            combo.blockSignals(False)
        self._update_enabled()

    def show_mix(self, mix: StyleMix) -> None:
        """Reflect a region's mix without emitting: A/B and t for two-source mixes, t = 0 for one source."""
        names = [name for name, _ in mix]
        self.blockSignals(True)
        self.slider.blockSignals(True)
        try:
            if len(mix) == 1:
                self._choose(self.source_a, names[0])
                self.slider.setValue(0)
            elif len(mix) == 2:
                self._choose(self.source_a, names[0])
                self._choose(self.source_b, names[1])
                self.slider.setValue(round(mix[1][1] * SLIDER_STEPS))
        finally:
            self.slider.blockSignals(False)
            self.blockSignals(False)
        self.value_label.setText(f"{self.slider.value()}%")
        self._update_enabled()

    def current_mix(self) -> StyleMix:
        a, b = self.source_a.currentText(), self.source_b.currentText()
        if not a:
            return ()
        t = self.slider.value() / SLIDER_STEPS
        if not b or a == b:
            return ((a, 1.0),)
        return ((a, 1.0 - t), (b, t))

    # -- internals -----------------------------------------------------------------------------
    def _choose(self, combo: QComboBox, name: str) -> None:
        index = combo.findText(name)
        if index >= 0:
            combo.blockSignals(True)
            combo.setCurrentIndex(index)
            combo.blockSignals(False)

    def _on_value(self, value: int) -> None:
        self.value_label.setText(f"{value}%")
        mix = self.current_mix()
        if mix:
            self.mixEdited.emit(mix)

    def _on_sources_changed(self) -> None:
        self._update_enabled()

    def _update_enabled(self) -> None:
        a, b = self.source_a.currentText(), self.source_b.currentText()
        self.slider.setEnabled(bool(a) and bool(b) and a != b)
