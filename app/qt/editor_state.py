"""The editor's shared state: the open document as Qt signals, the current label, the engine's capabilities.

Every panel talks to the document through this object: it subscribes to the model's events and
re-emits them as signals, runs edits so that a refused edit becomes a message instead of an
exception in a slot, and knows which engine (and so which controls) applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from regionpaint.app.model import titles
from regionpaint.app.model.document import Document, DocumentError, DocumentEvent, EventKind
from regionpaint.app.model.history import Box, History
from regionpaint.app.model.labelsets import LabelSet

log = logging.getLogger(__name__)

#: Events that change what a render shows (and so schedule one).
RENDER_INPUTS = frozenset(
    {
        EventKind.LABEL,
        EventKind.INSTANCE,
        EventKind.STYLE_SOURCES,
        EventKind.STYLE_ASSIGNMENTS,
        EventKind.CROSSOVER,
        EventKind.ENGINE,
    }
)


class EditorState(QObject):
    documentReplaced = Signal()
    labelsChanged = Signal(object)  # Box of changed pixels, or None for all
    instancesChanged = Signal(object)
    stylesChanged = Signal()  # sources, assignments or crossover
    engineChanged = Signal()
    historyChanged = Signal()
    renderChanged = Signal()
    compositeChanged = Signal()  # how renders go onto the photo (no new render needed)
    renderInputsChanged = Signal()
    currentLabelChanged = Signal(int)
    capabilitiesChanged = Signal()
    dirtyChanged = Signal(bool)
    pickedInstanceChanged = Signal(int)
    message = Signal(str)  # something the person should read (refused edit, failed file)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.label_set: LabelSet | None = None
        self.project_path: Path | None = None
        # The photo (or label map) a new document was made from: Save as and Export suggest its folder and name.
        self.origin_path: Path | None = None
        self.current_label = 0
        self.picked_instance: int | None = None
        self.dirty = False
        self.document_serial = 0  # tells results for a replaced document from current ones
        # Engine recognised from a checkpoint by the render worker when the document names none.
        self._recognised: dict[str, str] = {}
        # What the last render reported (RenderResult.info), shown in panels that read it.
        self.render_info: dict[str, Any] = {}
        # What each checkpoint offers (Engine.capabilities_for), reported by the render thread as soon as
        # it has inspected the file, before the model loads.
        self._checkpoint_caps: dict[tuple[str, str], frozenset[str]] = {}
        self._unsubscribe: Callable[[], None] | None = None
        # Capabilities of the checkpoint that made the last render (the edit mask depends on them).
        self.render_capabilities: frozenset[str] | None = None

    # -- the document ------------------------------------------------------------------------
    def set_document(self, doc: Document | None, label_set: LabelSet | None, path: Path | None = None) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.document, self.label_set, self.project_path = doc, label_set, path
        self.origin_path = None
        self.document_serial += 1
        self.render_info = {}
        self.render_capabilities = None
        self.picked_instance = None
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._on_event)
            self.current_label = self._initial_label(doc)
        self.set_dirty(False)
        self.documentReplaced.emit()
        self.capabilitiesChanged.emit()
        self.currentLabelChanged.emit(self.current_label)

    def _initial_label(self, doc: Document) -> int:
        """The class covering most of the image: the likeliest to be painted with first."""
        counts = np.bincount(doc.label.ravel())
        return int(np.argmax(counts)) if counts.size else 0

    def _on_event(self, event: DocumentEvent) -> None:
        kind = event.kind
        if kind == EventKind.LABEL:
            self.labelsChanged.emit(event.bbox)
        elif kind == EventKind.INSTANCE:
            self.instancesChanged.emit(event.bbox)
        elif kind in (EventKind.STYLE_SOURCES, EventKind.STYLE_ASSIGNMENTS, EventKind.CROSSOVER):
            self.stylesChanged.emit()
        elif kind == EventKind.ENGINE:
            self.engineChanged.emit()
            self.capabilitiesChanged.emit()
        elif kind == EventKind.HISTORY:
            self.historyChanged.emit()
        elif kind == EventKind.RENDER:
            self.renderChanged.emit()
        elif kind == EventKind.COMPOSITE:
            self.set_dirty(True)
            self.compositeChanged.emit()
        if kind in RENDER_INPUTS:
            self.set_dirty(True)
            self.renderInputsChanged.emit()

    def set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirtyChanged.emit(dirty)

    # -- edits -------------------------------------------------------------------------------
    def edit(self, function: Callable[..., bool], *args: Any, **kwargs: Any) -> bool:
        """Run a model edit on the document; a refused edit becomes a message and returns False."""
        if self.document is None:
            return False
        try:
            return bool(function(self.document, *args, **kwargs))
        except DocumentError as exc:
            log.info("edit %s refused: %s", getattr(function, "__name__", function), exc)
            self.message.emit(str(exc))
            return False

    def label_edit(self, function: Callable[..., bool], *args: Any, **kwargs: Any) -> bool:
        """An edit that takes the label set after the document (brush, fills, style assignments)."""
        if self.label_set is None:
            return False
        return self.edit(function, self.label_set, *args, **kwargs)

    def undo(self) -> None:
        history = self.history
        if history is not None and history.can_undo:
            history.undo()

    def redo(self) -> None:
        history = self.history
        if history is not None and history.can_redo:
            history.redo()

    @property
    def history(self) -> History | None:
        return None if self.document is None else self.document.history

    # -- labels ------------------------------------------------------------------------------
    def set_current_label(self, class_id: int) -> None:
        if self.label_set is None or int(class_id) not in set(int(i) for i in self.label_set.valid_ids()):
            return
        if int(class_id) != self.current_label:
            self.current_label = int(class_id)
            self.currentLabelChanged.emit(self.current_label)

    def set_picked_instance(self, instance_id: int) -> None:
        self.picked_instance = int(instance_id)
        self.pickedInstanceChanged.emit(self.picked_instance)

    def label_name(self, class_id: int) -> str:
        if self.label_set is None:
            return str(class_id)
        try:
            return self.label_set.name_of(class_id)
        except ValueError:
            return f"id {class_id}"

    # -- engine ------------------------------------------------------------------------------
    def engine_id(self) -> str:
        """The engine that renders: the document's choice, else the one recognised from its checkpoint."""
        if self.document is None:
            return ""
        settings = self.document.engine
        return settings.engine_id or self._recognised.get(settings.checkpoint, "")

    def note_recognised_engine(self, checkpoint: str, engine_id: str) -> None:
        if engine_id and self._recognised.get(checkpoint) != engine_id:
            self._recognised[checkpoint] = engine_id
            self.capabilitiesChanged.emit()

    def note_checkpoint_facts(self, checkpoint: str, engine_id: str, capabilities: frozenset[str]) -> None:
        """What the render thread learnt from inspecting ``checkpoint``: its engine and what it offers."""
        changed = self._checkpoint_caps.get((engine_id, checkpoint)) != capabilities
        self._checkpoint_caps[(engine_id, checkpoint)] = frozenset(capabilities)
        if engine_id and self._recognised.get(checkpoint) != engine_id:
            self._recognised[checkpoint] = engine_id
            changed = True
        if changed:
            self.capabilitiesChanged.emit()

    def engine_needs_checkpoint(self) -> bool:
        engine_class = self.engine_class()
        return True if engine_class is None else bool(engine_class.needs_checkpoint)

    def note_render_info(self, info: dict[str, Any]) -> None:
        changed = set(info) != set(self.render_info)
        self.render_info = dict(info)
        if changed:
            self.capabilitiesChanged.emit()

    def engine_class(self) -> type | None:
        from regionpaint.plugins.manager import get_plugin_manager

        entry = get_plugin_manager().engines().get(self.engine_id())
        return None if entry is None else entry.engine_class

    def capabilities(self) -> frozenset[str]:
        """What the document's engine offers with its checkpoint: the checkpoint's own capabilities once
        the render thread has inspected it, the engine class's until then."""
        engine_class = self.engine_class()
        if engine_class is None:
            return frozenset()
        checkpoint = self.document.engine.checkpoint if self.document is not None else ""
        known = self._checkpoint_caps.get((engine_class.id, checkpoint))
        return known if known is not None else frozenset(engine_class.capabilities)

    def style_blocks(self) -> tuple[str, ...]:
        engine_class = self.engine_class()
        return () if engine_class is None else tuple(engine_class.style_blocks)

    def style_block_titles(self) -> dict[str, str]:
        """Block name -> what it changes in plain words (the engine's titles, else coarse ... fine by order)."""
        engine_class = self.engine_class()
        declared = {} if engine_class is None else dict(getattr(engine_class, "style_block_titles", {}) or {})
        return titles.style_block_titles(self.style_blocks(), declared)


def box_or_all(box: Box | None, width: int, height: int) -> Box:
    return Box(0, 0, width, height) if box is None else box
