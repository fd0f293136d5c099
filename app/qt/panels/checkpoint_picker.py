"""The checkpoint picker: installed models by name, added checkpoints, the demo models, Add folder / Add file.

One widget for every place that asks for a checkpoint (the Engine panel, the Batch dialog), so they list the
same things: the models folder (official models installed by the model manager first, by their catalog
titles), the checkpoint folders and files added before (remembered in the settings), then the bundled demo
models under a heading. "Add checkpoint folder…" takes an official checkpoint *folder*
(``latest_net_G.pth`` + ``opt.txt``) or a folder of them; "Add checkpoint file…" a single file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from regionpaint.app.qt.settings import EditorSettings
from regionpaint.app.render.checkpoint_finder import CheckpointChoice, checkpoint_choices, demo_checkpoints

ADD_FOLDER, ADD_FILE = "add-folder", "add-file"
DEMO_MODELS_HEADER = "Demo models"
CHOOSE = "(choose a checkpoint)"
NONE_NEEDED = "(none needed)"


class CheckpointPicker(QComboBox):
    """A combo box of checkpoints; ``checkpointChosen(path)`` when the person picks or adds one.

    :meth:`fill` lists the choices with ``current`` selected; :meth:`path` is the selected checkpoint ("" for
    none). Cancelling an Add… dialog goes back to the checkpoint selected before.
    """

    checkpointChosen = Signal(str)

    def __init__(self, settings: EditorSettings, models_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.models_folder = models_folder
        self.setObjectName("checkpointPicker")
        self.setMinimumContentsLength(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._current = ""
        self.activated.connect(self._on_activated)

    def path(self) -> str:
        """The selected checkpoint ("" when none is)."""
        data = self.currentData()
        return "" if data in (None, ADD_FOLDER, ADD_FILE) else str(data)

    def fill(self, current: str, weightless: bool = False) -> None:
        """List every checkpoint, ``current`` first and selected; ``weightless``: the engine needs none."""
        self._current = current
        self.blockSignals(True)
        self.clear()
        if not current:
            self.addItem(NONE_NEEDED if weightless else CHOOSE, "")
        choices = checkpoint_choices(self.models_folder, self.settings.checkpoint_paths(), current)
        for choice in choices:
            self._add(choice)
        listed = {str(choice.path) for choice in choices}
        demos = [choice for choice in demo_checkpoints() if str(choice.path) not in listed]
        if demos:
            self.insertSeparator(self.count())
            self.addItem(DEMO_MODELS_HEADER, "")
            self.model().item(self.count() - 1).setEnabled(False)  # a heading, not a choice
            for choice in demos:
                self._add(choice)
        self.insertSeparator(self.count())
        self.addItem("Add checkpoint folder…", ADD_FOLDER)
        self.addItem("Add checkpoint file…", ADD_FILE)
        self.setCurrentIndex(max(0, self.findData(current)))
        self.setToolTip(f"{current or 'No checkpoint'}\nModels folder: {self.models_folder}")
        # An engine without weights renders with no checkpoint: the picker has nothing to choose.
        self.setEnabled(not weightless)
        if weightless:
            self.setToolTip("This engine needs no checkpoint")
        self.blockSignals(False)

    def choose(self, path: str) -> None:
        """Select ``path`` (listed first if it was not listed) as if the person had picked it."""
        self.fill(path)
        self.checkpointChosen.emit(path)

    def _add(self, choice: CheckpointChoice) -> None:
        self.addItem(choice.title, str(choice.path))
        self.setItemData(self.count() - 1, str(choice.path), Qt.ItemDataRole.ToolTipRole)

    def _on_activated(self, index: int) -> None:
        data = self.itemData(index)
        if data in (ADD_FOLDER, ADD_FILE):
            data = self.ask(folder=data == ADD_FOLDER)
            if not data:  # cancelled: back to what was selected
                self.setCurrentIndex(max(0, self.findData(self._current)))
                return
            self.fill(data)  # lists what was added
        if data:
            self._current = str(data)
            self.checkpointChosen.emit(str(data))

    def ask(self, folder: bool) -> str:
        """Ask for a checkpoint folder or file; a chosen one is remembered in the settings ("" when cancelled)."""
        start = self.settings.last_folder("checkpoints") or str(self.models_folder)
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, "Checkpoint folder (or a folder of them)", start)
        else:
            # "All files": an engine may bring a checkpoint format of its own (Engine.locate).
            kinds = "Checkpoints (*.pth *.safetensors);;All files (*)"
            chosen, _ = QFileDialog.getOpenFileName(self, "Checkpoint file", start, kinds)
        if chosen:
            self.settings.add_checkpoint_path(Path(chosen))
            self.settings.set_last_folder("checkpoints", Path(chosen))
        return chosen
