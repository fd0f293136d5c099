"""File commands: new, open, save, export result and label maps, recent files.

Failures (a corrupt project, a full disk) become a notice in the window, never a crash or a modal
error box, and leave the open document as it was.

Opening a project that a crashed session was editing offers that session's unsaved work first. A save
never silently loses what is on disk: the stamp of the project as opened (or last saved) is kept, and a
save over a file that changed since (another editor saved it), or one that would write less than the file
it replaces, asks first (Save anyway / Save as… / Cancel).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMenu

from regionpaint.app.bundled_demo import DEMO_DIR, bundled_demos
from regionpaint.app.model.document import Document, DocumentError
from regionpaint.app.model.file_stamp import FileStamp, same_file
from regionpaint.app.model.plain_errors import write_error_words
from regionpaint.app.model.project import (
    PROJECT_SUFFIX,
    ProjectError,
    members_save_would_drop,
    open_project,
    save_project,
)
from regionpaint.app.model.suggested_paths import suggest_export_path, suggest_project_path
from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog

if TYPE_CHECKING:
    from regionpaint.app.qt.main_window import MainWindow

log = logging.getLogger(__name__)

PROJECT_FILTER = f"regionpaint projects (*{PROJECT_SUFFIX})"
RESULT_FILTER = "PNG image (*.png);;JPEG image (*.jpg *.jpeg)"
PNG_FILTER = "PNG image (*.png)"


def label_sets() -> dict:
    from regionpaint.plugins.manager import get_plugin_manager

    return get_plugin_manager().label_sets()


def label_set_for(doc: Document):
    """The registered label set the document names (None when its plugin is missing)."""
    return label_sets().get(doc.label_set_id)


def write_image(array: np.ndarray, path: Path) -> None:
    """PNG (lossless) or JPEG (quality 95) by suffix; an unknown suffix gets .png."""
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        path = path.with_suffix(".png")
    image = Image.fromarray(array)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=95)
    else:
        image.save(path)


class FileActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        # The project file as this editor opened or last saved it (None: unknown), to notice another save.
        self.disk_stamp: FileStamp | None = None
        self.stamp_path: Path | None = None
        window.state.documentReplaced.connect(lambda: self.note_disk_stamp(None, None))

    def note_disk_stamp(self, path: Path | None, stamp: FileStamp | None) -> None:
        self.stamp_path, self.disk_stamp = path, stamp
        if path is not None:
            self.window.note_source(path, stamp)

    @property
    def state(self):
        return self.window.state

    # -- replacing the document ----------------------------------------------------------------
    def may_replace_document(self) -> bool:
        """Ask about unsaved changes; False when the person cancels (or saving fails)."""
        if self.state.document is None or not self.state.dirty:
            return True
        answer = self.window.ask_unsaved(self.window, self.window.document_name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_document(self, label_set_id: str = "", **engine: object) -> bool:
        """The New dialog (``label_set_id`` preselected); ``engine`` settings (e.g. a trained run's engine and
        checkpoint) are part of the new document, not an undo step. True when a document was created."""
        if not self.may_replace_document():
            return False
        dialog = NewDocumentDialog(label_sets(), self.window, label_set_id=label_set_id)
        if not dialog.exec() or dialog.document is None:
            return False
        doc = dialog.document
        self.start_with_best_model(doc, engine)
        if not self.window.set_document(doc, None):
            return False
        self.state.origin_path = dialog.photo.path or dialog.label.path
        if dialog.notices:  # e.g. a label map turned like its photo by the EXIF orientation
            self.window.show_error(" ".join(dialog.notices))
        return True

    def new_from_photo(self) -> None:
        """File › New from photo: a photo alone, labelled by a segmenter or starting all background."""
        from regionpaint.app.qt.dialogs.new_from_photo import NewFromPhotoDialog

        if not self.may_replace_document():
            return
        dialog = NewFromPhotoDialog(label_sets(), self.window.settings, self.window)
        if dialog.exec() and dialog.document is not None:
            self.start_with_best_model(dialog.document)
            if self.window.set_document(dialog.document, None):
                self.state.origin_path = dialog.photo.path
                self.window.photo_labels_bar.offer()  # an empty map: label it, then accept the labels

    def start_with_best_model(self, doc: Document, engine: dict | None = None) -> None:
        """Give a new document its engine settings: those asked for (a trained run's), else the best model
        for its label set (installed, demo, last used), so it renders without a trip to the Engine panel.
        Part of the new document, not an undo step."""
        from regionpaint.app.model import edits
        from regionpaint.app.render.default_checkpoint import best_checkpoint

        if not engine and not doc.engine.checkpoint:
            last_used = self.window.settings.last_checkpoint(doc.label_set_id)
            chosen = best_checkpoint(doc.label_set_id, self.window.engine_panel.choices.models_folder, last_used)
            engine = {"checkpoint": str(chosen)} if chosen is not None else {}
        if engine:
            edits.set_engine_settings(doc, **engine)
            doc.history.clear()

    def ask_open(self) -> None:
        if not self.may_replace_document():
            return
        start = self.window.settings.last_folder("projects")
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, PROJECT_FILTER)
        if path:
            self.open_project(Path(path), ask=False)

    def open_project(self, path: Path, ask: bool = True) -> bool:
        """Open a .rpaint file; a bad file shows a notice and leaves the window as it was."""
        if ask and not self.may_replace_document():
            return False
        if self.window.offer_recovery(for_path=Path(path)):  # a crashed session's unsaved work on this file
            self.window.settings.add_recent_file(Path(path))
            return True
        stamp = FileStamp.of(path)  # before reading: a save in between makes it older, so it is noticed
        try:
            doc = open_project(path, label_sets())
        except (ProjectError, DocumentError) as exc:
            log.warning("cannot open %s: %s", path, exc)
            self.window.show_error(str(exc))
            return False
        if not self.window.set_document(doc, Path(path)):
            return False
        self.note_disk_stamp(Path(path), stamp)
        self.window.settings.add_recent_file(Path(path))
        if Path(path).resolve().parent != DEMO_DIR:  # Save As should not suggest assets/demo
            self.window.settings.set_last_folder("projects", Path(path))
        self.window.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    # -- saving -------------------------------------------------------------------------------
    def save(self) -> bool:
        path = self.state.project_path
        if path is None or path.resolve().parent == DEMO_DIR:  # the bundled demos stay as shipped
            return self.save_as()
        return self.save_to(self.state.project_path)

    def save_as(self) -> bool:
        start = suggest_project_path(
            self.state.project_path,
            self.state.origin_path,
            self.window.settings.last_folder("projects"),
            Path.home(),
            DEMO_DIR,  # the bundled demos stay as shipped: their copies go to the person's folder
        )
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", str(start), PROJECT_FILTER)
        if not path:
            return False
        path = Path(path)
        return self.save_to(path if path.suffix == PROJECT_SUFFIX else path.with_suffix(PROJECT_SUFFIX))

    def save_to(self, path: Path) -> bool:
        doc = self.state.document
        if doc is None:
            return False
        reasons = self._reasons_to_ask(doc, Path(path))
        if reasons:
            answer = self.window.ask_save_over(self.window, Path(path), reasons)
            if answer == "save_as":
                return self.save_as()
            if answer != "save":
                self.window.statusBar().showMessage(f"Not saved: {path} is as it was", 8000)
                return False
        try:
            save_project(doc, path)
        except ProjectError as exc:
            self.window.show_error(str(exc))
            return False
        self.state.project_path = Path(path)
        self.state.set_dirty(False)
        self.note_disk_stamp(Path(path), FileStamp.of(path))
        self.window.settings.add_recent_file(Path(path))
        self.window.settings.set_last_folder("projects", Path(path))
        self.window.statusBar().showMessage(f"Saved {path}", 5000)
        self.window.update_title()
        return True

    def _reasons_to_ask(self, doc: Document, path: Path) -> list[str]:
        """Why saving ``doc`` over ``path`` could lose work that is on disk (empty: nothing to ask)."""
        if not path.exists() or not same_file(path, self.state.project_path):
            return []  # a new file, or one the person chose to replace in the Save As dialog
        reasons = []
        if self.disk_stamp is not None and same_file(path, self.stamp_path) and not self.disk_stamp.unchanged(path):
            reasons.append(
                f"{path.name} changed on disk since this editor opened or last saved it (another editor or "
                "program saved it). Saving over it replaces those changes with yours."
            )
        dropped = members_save_would_drop(doc, path)
        if dropped:
            reasons.append(
                f"Saving would write less than {path.name} holds: {', '.join(dropped)} would be lost "
                "(this document does not have them)."
            )
        return reasons

    # -- exports ------------------------------------------------------------------------------
    def export_result(self, path: Path | None = None) -> bool:
        doc = self.state.document
        if doc is None or doc.last_render is None:
            self.window.show_error("Nothing to export yet: render the document first.")
            return False
        path = path or self._ask_export_path("Export result", "result", RESULT_FILTER)
        return path is not None and self._write(doc.last_render.image, path)

    def export_labels(self, colour: bool, path: Path | None = None) -> bool:
        """The label map as an index PNG (8-bit, or 16-bit for ids above 255) or in the label set's colours."""
        doc = self.state.document
        if doc is None:
            return False
        kind = "labels_colour" if colour else "labels"
        path = path or self._ask_export_path("Export label map", kind, PNG_FILTER)
        if path is None:
            return False
        array = self.state.label_set.to_color(doc.label) if colour else doc.label
        return self._write(array, path.with_suffix(".png"))

    def _ask_export_path(self, title: str, kind: str, filters: str) -> Path | None:
        """Ask where to write an export of ``kind`` (suggested_paths.EXPORT_NAMES), beside the document."""
        start = suggest_export_path(
            kind,
            self.state.project_path,
            self.state.origin_path,
            self.window.settings.last_folder("exports"),
            Path.home(),
            DEMO_DIR,
        )
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(start), filters)
        if not path:
            return None
        self.window.settings.set_last_folder("exports", Path(path))
        return Path(path)

    def _write(self, array: np.ndarray, path: Path) -> bool:
        try:
            write_image(array, path)
        except OSError as exc:
            self.window.show_error(f"Could not export {path.name}: {write_error_words(path, exc)}")
            return False
        except ValueError as exc:
            self.window.show_error(f"{path}: could not write ({exc})")
            return False
        self.window.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    # -- bundled demos ------------------------------------------------------------------------
    def fill_demo_menu(self, menu: QMenu) -> None:
        menu.clear()
        demos = bundled_demos()
        for title, path in demos:
            action = menu.addAction(title)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_project(p))
        if not demos:
            menu.addAction("(not built: python -m tools.demo.build)").setEnabled(False)

    # -- recent files -------------------------------------------------------------------------
    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        recent = self.window.settings.recent_files()
        for path in recent:
            action = menu.addAction(path.name)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_project(p))
        if not recent:
            menu.addAction("(none)").setEnabled(False)
