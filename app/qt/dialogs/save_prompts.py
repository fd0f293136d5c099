"""The question asked before a save would lose work that is on disk: Save anyway / Save as… / Cancel.

Asked when the project changed on disk since this editor opened or last saved it (another editor saved
over it), or when the save would write less than the file it replaces (members the file has and the
document lacks). The window holds it as ``ask_save_over``, a plain callable, so tests answer it directly.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

#: The answers: save over the file, choose another file, or do not save.
SAVE, SAVE_AS, CANCEL = "save", "save_as", "cancel"


def ask_save_over(parent: QWidget | None, path: Path, reasons: list[str]) -> str:
    """Ask whether to save over ``path`` despite ``reasons`` (sentences); returns "save", "save_as" or "cancel"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Save over the file on disk?")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText("\n\n".join([*reasons, f"Save over {path.name} anyway, save your work as another file, or cancel?"]))
    box.setInformativeText(str(path))
    save = box.addButton("Save anyway", QMessageBox.ButtonRole.DestructiveRole)
    save_as = box.addButton("Save as…", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(save_as)  # the choice that loses nothing
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    return SAVE if clicked is save else SAVE_AS if clicked is save_as else CANCEL
