"""The editor's main window: canvas in the middle, palette on the left, regions/styles/engine/history on the right.

The window assembles the parts and wires the shortcuts; the parts talk through
:class:`app.qt.editor_state.EditorState`. Prompts (unsaved changes, crash recovery) are attributes
holding plain callables, so tests replace them instead of clicking dialogs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.model.document import Document
from app.qt.autosave import AutosaveManager, AutosaveStore
from app.qt.canvas import VIEW_LABELS, VIEW_RESULT, VIEW_SIDE_BY_SIDE, CanvasView
from app.qt.dialogs import ShortcutsDialog, ask_recover, ask_unsaved
from app.qt.editor_state import EditorState
from app.qt.engine_panel import EnginePanel
from app.qt.file_actions import FileActions, label_set_for
from app.qt.history_panel import HistoryPanel
from app.qt.jobs_panel import JobsPanel
from app.qt.notice import NoticeBar
from app.qt.palette import QUICK_SLOTS, LabelPalette
from app.qt.regions_panel import RegionsPanel
from app.qt.render_controller import DEBOUNCE_MS, RenderController
from app.qt.render_worker import RenderOutcome
from app.qt.settings import EditorSettings, autosave_dir, data_dir, models_dir
from app.qt.shortcuts import SHORTCUTS
from app.qt.styles_panel import StylesPanel
from app.qt.tool_bar import VIEW_TITLES, EditorToolBar
from app.qt.tools import ToolController
from app.qt.train_dialog import TrainDialog

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1440, 900)


class MainWindow(QMainWindow):
    def __init__(
        self,
        document: Document | None = None,
        path: Path | None = None,
        *,
        settings: EditorSettings | None = None,
        data_folder: Path | None = None,
        autosave: bool = True,
        debounce_ms: int = DEBOUNCE_MS,
        remember_window: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings or EditorSettings()
        self.data_folder = data_folder or data_dir()
        self.remember_window = remember_window
        self.ask_unsaved = ask_unsaved  # (parent, name) -> "save" | "discard" | "cancel"
        self.ask_recover = ask_recover  # (parent, path, saved_at) -> bool
        self.state = EditorState(self)
        self.tools = ToolController(self.state, self)
        self.render_controller = RenderController(self.state, debounce_ms, self)
        self.files = FileActions(self)
        self.canvas = CanvasView(self.state, self.tools)
        self.notice = NoticeBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.palette_panel = LabelPalette(self.state)
        self.regions_panel = RegionsPanel(self.state)
        self.styles_panel = StylesPanel(self.state)
        self.engine_panel = EnginePanel(self.state, self.settings, models_dir(self.data_folder))
        self.history_panel = HistoryPanel(self.state)
        self.jobs_panel = JobsPanel()
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._build_docks()
        self.tool_bar = EditorToolBar(
            self.tools,
            self.canvas,
            {tool_id: self.actions[f"tool_{tool_id}"] for tool_id in self.tools.tools},
            {mode: self.actions[f"view_{mode}"] for mode in (VIEW_LABELS, VIEW_RESULT, VIEW_SIDE_BY_SIDE)},
        )
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.tool_bar)
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self.autosave: AutosaveManager | None = None
        if autosave:
            store = AutosaveStore(autosave_dir(self.data_folder))
            self.autosave = AutosaveManager(self.state, store, self.settings.autosave_seconds(), self)
            self.autosave.start()
        self._restore_window()
        self.update_title()
        if document is not None:
            self.set_document(document, path)

    # -- building ----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        handlers = {
            "new": self.files.new_document,
            "open": self.files.ask_open,
            "save": self.files.save,
            "save_as": self.files.save_as,
            "export_result": self.files.export_result,
            "quit": self.close,
            "undo": self.state.undo,
            "redo": self.state.redo,
            "redo_alt": self.state.redo,
            "find_label": self.palette_panel.focus_search,
            "brush_smaller": lambda: self.tools.grow_brush(-1),
            "brush_larger": lambda: self.tools.grow_brush(+1),
            "brush_tip": lambda: self.tools.set_brush_tip("square" if self.tools.brush.tip == "round" else "round"),
            "outline": lambda: self.canvas.set_outline_mode(not self.canvas.overlay_item.outline),
            "zoom_in": self.canvas.zoom_in,
            "zoom_out": self.canvas.zoom_out,
            "fit": self.canvas.fit,
            "render": self.render_controller.render_now,
            "shortcuts": self.show_shortcuts,
        }
        for tool_id in self.tools.tools:
            handlers[f"tool_{tool_id}"] = lambda _=False, t=tool_id: self.tools.set_tool(t)
        for mode in (VIEW_LABELS, VIEW_RESULT, VIEW_SIDE_BY_SIDE):
            handlers[f"view_{mode}"] = lambda _=False, m=mode: self.canvas.set_view_mode(m)
        titles = {f"tool_{t.id}": t.title for t in self.tools.tools.values()}
        titles.update({f"view_{mode}": title for mode, title in VIEW_TITLES.items()})
        for shortcut in SHORTCUTS:
            if not shortcut.bound:
                continue
            action = QAction(titles.get(shortcut.action, shortcut.description), self)
            action.setShortcut(QKeySequence(shortcut.keys))
            action.setToolTip(f"{shortcut.description} ({shortcut.keys})")
            action.setStatusTip(shortcut.description)
            action.triggered.connect(handlers[shortcut.action])
            self.addAction(action)  # window-wide, even with the menus hidden
            self.actions[shortcut.action] = action
        self.actions["zoom_in"].setShortcuts([QKeySequence("+"), QKeySequence("="), QKeySequence("Ctrl++")])
        self.actions["zoom_out"].setShortcuts([QKeySequence("-"), QKeySequence("Ctrl+-")])
        self.quick_label_shortcuts = []
        for index in range(QUICK_SLOTS):
            shortcut = QShortcut(QKeySequence(str((index + 1) % 10)), self)
            shortcut.activated.connect(lambda i=index: self.palette_panel.quick.pick(i))
            self.quick_label_shortcuts.append(shortcut)

    def _build_docks(self) -> None:
        """Left: labels above engine/history. Right: regions above the style gallery."""
        self.setDockNestingEnabled(True)
        tabs = QTabWidget()
        tabs.addTab(self.engine_panel, "Engine")
        tabs.addTab(self.history_panel, "History")
        tabs.addTab(self.jobs_panel, "Jobs")
        self.side_tabs = tabs
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        labels = self._dock("Labels", self.palette_panel, left)
        engine = self._dock("Engine and history", tabs, left)
        regions = self._dock("Regions", self.regions_panel, right)
        styles = self._dock("Style sources", self.styles_panel, right)
        self.splitDockWidget(labels, engine, Qt.Orientation.Vertical)
        self.splitDockWidget(regions, styles, Qt.Orientation.Vertical)
        self.resizeDocks([labels, regions], [280, 420], Qt.Orientation.Horizontal)
        self.resizeDocks([labels, engine, regions, styles], [420, 330, 470, 280], Qt.Orientation.Vertical)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.replace(' ', '_').lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for name in ("new", "open"):
            file_menu.addAction(self.actions[name])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent_menu(self.recent_menu))
        self.demo_menu = file_menu.addMenu("Open &demo")
        self.demo_menu.aboutToShow.connect(lambda: self.files.fill_demo_menu(self.demo_menu))
        file_menu.addSeparator()
        for name in ("save", "save_as"):
            file_menu.addAction(self.actions[name])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["export_result"])
        file_menu.addAction("Export label map (index PNG)…", lambda: self.files.export_labels(colour=False))
        file_menu.addAction("Export label map (colour PNG)…", lambda: self.files.export_labels(colour=True))
        file_menu.addSeparator()
        file_menu.addAction(self.actions["quit"])
        edit_menu = bar.addMenu("&Edit")
        for name in ("undo", "redo", "find_label"):
            edit_menu.addAction(self.actions[name])
        tools_menu = bar.addMenu("&Tools")
        for tool_id in self.tools.tools:
            tools_menu.addAction(self.actions[f"tool_{tool_id}"])
        tools_menu.addSeparator()
        for name in ("brush_smaller", "brush_larger", "brush_tip"):
            tools_menu.addAction(self.actions[name])
        view_menu = bar.addMenu("&View")
        for name in ("view_labels", "view_result", "view_side_by_side", "outline", "zoom_in", "zoom_out", "fit"):
            view_menu.addAction(self.actions[name])
        view_menu.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())
        render_menu = bar.addMenu("&Render")
        render_menu.addAction(self.actions["render"])
        train_menu = bar.addMenu("T&rain")
        train_action = train_menu.addAction("New &training job…", self.new_training_job)
        train_action.setShortcut(QKeySequence("Ctrl+Shift+T"))
        train_menu.addAction("Show &jobs", lambda: self.side_tabs.setCurrentWidget(self.jobs_panel))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.actions["shortcuts"])
        help_menu.addAction("&About regionpaint", self._about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.cursor_label = QLabel()
        self.zoom_label = QLabel()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: a render has no progress to report
        self.busy.setFixedWidth(90)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.render_label = QLabel("No render yet")
        self.render_label.setObjectName("renderTime")
        for widget in (self.cursor_label, self.zoom_label, self.busy, self.render_label):
            status.addPermanentWidget(widget)
        status.showMessage("Ready")

    def _connect(self) -> None:
        self.state.message.connect(self.show_error)
        self.state.dirtyChanged.connect(lambda _dirty: self.update_title())
        self.state.historyChanged.connect(self._update_undo_actions)
        self.state.documentReplaced.connect(self._update_undo_actions)
        self.state.documentReplaced.connect(self._show_render_state)
        self.state.engineChanged.connect(self._show_render_state)
        self.canvas.cursorMoved.connect(self._show_cursor)
        self.canvas.zoomChanged.connect(lambda zoom: self.zoom_label.setText(f"{zoom:.0%}"))
        self.tools.toolChanged.connect(self._show_tool_hint)
        controller = self.render_controller
        controller.busyChanged.connect(self._show_busy)
        controller.renderFinished.connect(self._show_render)
        controller.renderFailed.connect(self._show_render_error)
        self.engine_panel.renderRequested.connect(controller.render_now)
        self.engine_panel.autoRenderToggled.connect(lambda on: setattr(controller, "auto_render", on))
        self.engine_panel.fastPreviewToggled.connect(lambda on: setattr(controller, "fast_preview", on))
        self.jobs_panel.open_in_editor.connect(self.use_trained_checkpoint)

    # -- the document ------------------------------------------------------------------------
    def set_document(self, doc: Document, path: Path | None = None, dirty: bool = False) -> bool:
        label_set = label_set_for(doc)
        if label_set is None:
            self.show_error(f"label set {doc.label_set_id!r} is not available (is its plugin installed?)")
            return False
        self.notice.hide()
        self.state.set_document(doc, label_set, path)
        self.state.set_dirty(dirty)
        self.update_title()
        return True

    @property
    def document(self) -> Document | None:
        return self.state.document

    def open_project(self, path: Path) -> bool:
        return self.files.open_project(Path(path))

    def document_name(self) -> str:
        if self.state.document is None:
            return ""
        return self.state.project_path.name if self.state.project_path else "Untitled"

    def update_title(self) -> None:
        if self.state.document is None:
            self.setWindowTitle("regionpaint")
            return
        star = "*" if self.state.dirty else ""
        self.setWindowTitle(f"{self.document_name()}{star} — regionpaint")

    def offer_recovery(self) -> bool:
        """Offer the autosaves of crashed sessions, newest first; True when one was recovered."""
        if self.autosave is None:
            return False
        store = self.autosave.store
        for item in store.recoverable():
            accepted = self.ask_recover(self, item.autosave, item.saved_at)
            if accepted:
                recovered = self._recover(item)
                store.forget(item)
                return recovered
            store.forget(item)
        return False

    def _recover(self, item) -> bool:
        from app.model.project import ProjectError, open_project
        from app.qt.file_actions import label_sets

        try:
            doc = open_project(item.autosave, label_sets())
        except ProjectError as exc:
            self.show_error(f"The autosave could not be read: {exc}")
            return False
        self.set_document(doc, item.source, dirty=True)
        self.statusBar().showMessage("Recovered the autosave of the last session", 8000)
        return True

    # -- feedback ----------------------------------------------------------------------------
    def new_training_job(self) -> None:
        """Ask for a dataset and options, then run ``regionpaint train`` as a separate process."""
        dialog = TrainDialog(self)
        argv = dialog.get_command()
        if argv is None:
            return
        self.jobs_panel.start_job(argv, dialog.run_folder())
        self.side_tabs.setCurrentWidget(self.jobs_panel)

    def use_trained_checkpoint(self, run_folder: str) -> None:
        """ "Open in editor" of a finished job: list its folder and render the document with it."""
        path = Path(run_folder)
        self.settings.add_checkpoint_path(path)
        if self.state.document is None:
            self.statusBar().showMessage(f"{path.name} added to the checkpoints; open a document to render with it")
            return
        self.engine_panel.choices.choose_checkpoint(path)
        self.engine_panel.choices.rescan()  # lists the new folder among the checkpoints
        self.side_tabs.setCurrentWidget(self.engine_panel)

    def show_error(self, message: str) -> None:
        """Status bar plus a non-modal notice above the canvas; the editor stays usable."""
        log.info("notice: %s", message)
        self.statusBar().showMessage(message, 10000)
        self.notice.show_message(message)

    def _show_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        if busy:
            self.render_label.setText("Rendering…")

    def _show_render(self, outcome: RenderOutcome) -> None:
        self.notice.hide()
        latency = self.render_controller.last_latency
        engine_class = self.state.engine_class()
        engine = engine_class.display_name if engine_class is not None else outcome.engine_id
        text = f"{engine} on {outcome.device}: {outcome.seconds:.2f} s"
        if latency is not None:
            text += f" · on screen {latency:.2f} s after the edit"
        self.render_label.setText(text)

    def _show_render_state(self) -> None:
        """Say why nothing renders before the first render (or after the checkpoint was cleared)."""
        doc = self.state.document
        if doc is not None and not doc.engine.checkpoint:
            self.render_label.setText("No checkpoint chosen")
        elif doc is not None and doc.last_render is None and not self.render_controller.busy:
            self.render_label.setText("Not rendered yet")

    def _show_render_error(self, message: str) -> None:
        self.render_label.setText("Render failed" if self.state.document is not None else "")
        if self.state.document is not None and not self.state.document.engine.checkpoint:
            self.statusBar().showMessage(message, 10000)  # not an error: nothing chosen yet
            self.render_label.setText("No checkpoint chosen")
            return
        self.show_error(f"Render failed: {message}")

    def _show_cursor(self, x: int, y: int) -> None:
        doc = self.state.document
        if doc is None or x < 0:
            self.cursor_label.setText("")
            return
        class_id = int(doc.label[y, x])
        self.cursor_label.setText(f"{x}, {y} · {class_id} {self.state.label_name(class_id)}")

    def _show_tool_hint(self, tool_id: str) -> None:
        self.statusBar().showMessage(self.tools.tools[tool_id].hint, 6000)

    def _update_undo_actions(self) -> None:
        history = self.state.history
        for name, possible, title in (
            ("undo", history is not None and history.can_undo, history.undo_title if history else None),
            ("redo", history is not None and history.can_redo, history.redo_title if history else None),
        ):
            self.actions[name].setEnabled(possible)
            self.actions[name].setText(f"{name.title()} {title}" if title else name.title())
        self.actions["redo_alt"].setEnabled(self.actions["redo"].isEnabled())

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).show()

    def _about(self) -> None:
        QMessageBox.about(
            self, "regionpaint", "Repaint semantic regions of a photo and render them with SPADE, SEAN or pix2pixHD."
        )

    # -- window state and closing ------------------------------------------------------------
    def _restore_window(self) -> None:
        geometry = self.settings.window_geometry() if self.remember_window else None
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)
        state = self.settings.window_state() if self.remember_window else None
        if state is not None:
            self.restoreState(state)
        self.canvas.set_view_mode(self.settings.value("view/mode", VIEW_SIDE_BY_SIDE))
        self.canvas.set_overlay_opacity(self.settings.value("view/overlay_opacity", 0.6, float))
        self.canvas.set_outline_mode(self.settings.value("view/outline", False, bool))
        self.tools.set_brush_size(self.settings.value("tools/brush_size", 24, int))
        self.tools.set_brush_tip(self.settings.value("tools/brush_tip", "round"))
        self.tool_bar.sync()

    def _save_window(self) -> None:
        if not self.remember_window:
            return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.set_value("view/mode", self.canvas.view_mode)
        self.settings.set_value("view/overlay_opacity", self.canvas.overlay_opacity)
        self.settings.set_value("view/outline", self.canvas.overlay_item.outline)
        self.settings.set_value("tools/brush_size", self.tools.brush.size)
        self.settings.set_value("tools/brush_tip", self.tools.brush.tip)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.may_replace_document():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the render thread, training jobs (they save first) and autosave (a clean exit); remember the window."""
        self.render_controller.shutdown()
        self.jobs_panel.stop_all()
        if self.autosave is not None:
            self.autosave.stop(clean=True)
            self.autosave = None
        self._save_window()
