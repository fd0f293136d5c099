"""The editor's main window: canvas in the middle, palette on the left, regions/styles/engine/history on the right.

The window assembles the parts and wires the shortcuts; the parts talk through
:class:`regionpaint.app.qt.editor_state.EditorState`. Prompts (unsaved changes, crash recovery) are attributes
holding plain callables, so tests replace them instead of clicking dialogs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.model.document import Document
from regionpaint.app.model.shortcuts import SHORTCUTS
from regionpaint.app.qt.autosave import AutosaveManager, AutosaveStore
from regionpaint.app.qt.canvas.navigator import Navigator
from regionpaint.app.qt.canvas.style_drops import StyleDropTarget
from regionpaint.app.qt.canvas.tools import ToolController
from regionpaint.app.qt.canvas.view import VIEW_MODES, VIEW_SIDE_BY_SIDE, CanvasView
from regionpaint.app.qt.dialogs.batch import BatchDialog
from regionpaint.app.qt.dialogs.manage_plugins import PluginNotice, PluginsDialog, load_error_message
from regionpaint.app.qt.dialogs.new_document import (
    ShortcutsDialog,
    ask_new_document_for_run,
    ask_recover,
    ask_unsaved,
    choose_recovery,
)
from regionpaint.app.qt.dialogs.save_prompts import ask_save_over
from regionpaint.app.qt.dialogs.train import TrainDialog
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.file_actions import FileActions, label_set_for
from regionpaint.app.qt.notice import NoticeBar
from regionpaint.app.qt.panels.engine import EnginePanel
from regionpaint.app.qt.panels.fidelity import FidelityPanel
from regionpaint.app.qt.panels.history import HistoryPanel
from regionpaint.app.qt.panels.jobs import JobsPanel
from regionpaint.app.qt.panels.palette import QUICK_SLOTS, LabelPalette
from regionpaint.app.qt.panels.photo_edit import Recompositor
from regionpaint.app.qt.panels.regions import RegionsPanel
from regionpaint.app.qt.panels.styles import StylesPanel
from regionpaint.app.qt.panels.tool_bar import VIEW_TITLES, EditorToolBar
from regionpaint.app.qt.photo_labels_bar import PhotoLabelsBar
from regionpaint.app.qt.settings import EditorSettings, autosave_dir, data_dir, models_dir
from regionpaint.app.qt.start_screen import StartScreen
from regionpaint.app.qt.workers import main_thread_gc
from regionpaint.app.qt.workers.render_controller import DEBOUNCE_MS, RenderController
from regionpaint.app.qt.workers.render_worker import EditorRenderOutcome
from regionpaint.app.render import status_words

log = logging.getLogger(__name__)

#: The result pane before a model is chosen: what is missing and where to fix it.
NO_MODEL_PLACEHOLDER = "No model chosen.\nPick one under Engine › Model,\nor get official ones with File › Models…"

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
        main_thread_gc.install()  # Qt objects in garbage cycles must die on this thread, not a render thread
        self.setObjectName("mainWindow")
        self.settings = settings or EditorSettings()
        self.data_folder = data_folder or data_dir()
        self.remember_window = remember_window
        self.ask_unsaved = ask_unsaved  # (parent, name) -> "save" | "discard" | "cancel"
        self.ask_recover = ask_recover  # (parent, what, saved_at) -> True | False | "later"
        self.ask_save_over = ask_save_over  # (parent, path, reasons) -> "save" | "save_as" | "cancel"
        self.choose_recovery = choose_recovery  # (parent, descriptions) -> index | None
        self.ask_new_document_for_run = ask_new_document_for_run  # (parent, run, its label set, the doc's) -> bool
        self.state = EditorState(self)
        self.tools = ToolController(self.state, self)
        self.render_controller = RenderController(self.state, debounce_ms, self)
        # (engine id, checkpoint) pairs rendered this session: a render of another one loads its model first.
        self._rendered_with: set[tuple[str, str]] = set()
        self._last_render_fast = False
        self.files = FileActions(self)
        self.canvas = CanvasView(self.state, self.tools)
        self.navigator = Navigator(self.canvas, self.state)
        self.notice = NoticeBar()
        self.plugin_notice = PluginNotice()  # plugin load errors, once per session
        self.plugin_notice.showPlugins.connect(self.show_plugins)
        self.plugins_dialog: PluginsDialog | None = None
        self.models_dialog = None  # File › Models…, made on first use
        self._engine_choice: tuple[str, str] | None = None  # gui --engine/--checkpoint, for the next document
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plugin_notice)
        layout.addWidget(self.notice)
        self.photo_labels_bar = PhotoLabelsBar(self.state)  # a photo alone: label it, then accept the labels
        layout.addWidget(self.photo_labels_bar)
        # No document: the start screen (demos, recent files, new from a photo) instead of an empty canvas.
        self.start_screen = StartScreen()
        self.central_pages = QStackedWidget()
        self.central_pages.addWidget(self.start_screen)
        self.central_pages.addWidget(self.canvas)
        layout.addWidget(self.central_pages, 1)
        self.setCentralWidget(central)
        self.palette_panel = LabelPalette(self.state)
        self.regions_panel = RegionsPanel(self.state)
        self.styles_panel = StylesPanel(self.state, self.settings)
        self.engine_panel = EnginePanel(self.state, self.settings, models_dir(self.data_folder))
        self.history_panel = HistoryPanel(self.state)
        self.jobs_panel = JobsPanel()
        self.fidelity_panel = FidelityPanel(self.state, self.settings)
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._build_docks()
        self.tool_bar = EditorToolBar(
            self.tools,
            self.canvas,
            {tool_id: self.actions[f"tool_{tool_id}"] for tool_id in self.tools.tools},
            {mode: self.actions[f"view_{mode}"] for mode in VIEW_MODES},
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
        self._show_start_or_canvas()
        self.update_title()
        if document is not None:
            self.set_document(document, path)
        QTimer.singleShot(0, self._announce_plugin_errors)

    # -- building ----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        handlers = {
            "new": lambda: self.files.new_document(),  # not QAction's "checked" as the label set
            "new_from_photo": self.files.new_from_photo,
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
            "zoom_actual": self.canvas.zoom_actual,
            "render": self.render_controller.render_now,
            "raw_render": lambda checked=False: self.canvas.set_raw_visible(bool(checked)),
            "shortcuts": self.show_shortcuts,
        }
        for tool_id in self.tools.tools:
            handlers[f"tool_{tool_id}"] = lambda _=False, t=tool_id: self.tools.set_tool(t)
        for mode in VIEW_MODES:
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
        self.actions["raw_render"].setCheckable(True)  # triggered(checked) reaches the canvas
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
        tabs.addTab(self.fidelity_panel, "Fidelity")
        self.side_tabs = tabs
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        labels = self._dock("Labels", self.palette_panel, left)
        engine = self._dock("Engine and history", tabs, left)
        regions = self._dock("Regions", self.regions_panel, right)
        styles = self._dock("Style sources", self.styles_panel, right)
        self.splitDockWidget(labels, engine, Qt.Orientation.Vertical)
        self.splitDockWidget(regions, styles, Qt.Orientation.Vertical)
        # Training jobs get a full-height column of their own, a tab beside the regions.
        self.jobs_dock = self._dock("Training jobs", self.jobs_panel, right)
        self.tabifyDockWidget(regions, self.jobs_dock)
        regions.raise_()
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
        for name in ("new", "new_from_photo", "open"):
            file_menu.addAction(self.actions[name])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent_menu(self.recent_menu))
        self.demo_menu = file_menu.addMenu("Open &demo")
        self.demo_menu.aboutToShow.connect(lambda: self.files.fill_demo_menu(self.demo_menu))
        self.actions["recover"] = file_menu.addAction("Re&cover unsaved work…", self.recover_sessions)
        self.actions["models"] = file_menu.addAction("&Models (official checkpoints)…", self.show_models)
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
        edit_menu.addAction(self.photo_labels_bar.action)
        tools_menu = bar.addMenu("&Tools")
        for tool_id in self.tools.tools:
            tools_menu.addAction(self.actions[f"tool_{tool_id}"])
        tools_menu.addSeparator()
        for name in ("brush_smaller", "brush_larger", "brush_tip"):
            tools_menu.addAction(self.actions[name])
        view_menu = bar.addMenu("&View")
        for name in (
            "view_labels",
            "view_result",
            "view_side_by_side",
            "outline",
            "zoom_in",
            "zoom_out",
            "zoom_actual",
            "fit",
        ):
            view_menu.addAction(self.actions[name])
        # Photo edits: the edit mask over the canvas (the same switch as in the Engine panel).
        mask_box = self.engine_panel.composite_controls.show_mask
        mask_action = view_menu.addAction("Show &edit mask")
        mask_action.setCheckable(True)
        mask_action.toggled.connect(mask_box.setChecked)
        mask_box.toggled.connect(mask_action.setChecked)
        # The raw render: the menu item (Ctrl+Shift+R), the Engine panel's box and the canvas agree.
        view_menu.addAction(self.actions["raw_render"])
        raw_box = self.engine_panel.composite_controls.show_raw
        raw_box.toggled.connect(self.canvas.set_raw_visible)
        self.canvas.rawVisibleChanged.connect(raw_box.setChecked)
        self.canvas.rawVisibleChanged.connect(self.actions["raw_render"].setChecked)
        view_menu.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())
        render_menu = bar.addMenu("&Render")
        render_menu.addAction(self.actions["render"])
        render_menu.addSeparator()
        batch_action = render_menu.addAction("&Batch render a folder…", self.new_batch_job)
        batch_action.setShortcut(QKeySequence("Ctrl+Shift+B"))
        self.actions["cancel_render"] = render_menu.addAction("&Stop waiting for this render", self.cancel_render)
        self.actions["cancel_render"].setEnabled(False)
        train_menu = bar.addMenu("T&rain")
        train_action = train_menu.addAction("New &training job…", self.new_training_job)
        train_action.setShortcut(QKeySequence("Ctrl+Shift+T"))
        train_menu.addAction("Show &jobs", self.show_jobs)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.actions["shortcuts"])
        help_menu.addAction("&Plugins…", self.show_plugins)
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
        controller.renderStarted.connect(self._show_render_started)
        controller.warmedUp.connect(self._note_warmed_up)
        controller.renderFinished.connect(self._show_render)
        controller.renderFailed.connect(self._show_render_error)
        # Fault containment: a render past the limit can be given up on (app/render/guard.py).
        controller.timeout_s = self.settings.render_timeout_seconds()
        controller.renderOverdue.connect(self._offer_cancel_render)
        controller.busyChanged.connect(lambda busy: self.actions["cancel_render"].setEnabled(busy))
        self.engine_panel.renderRequested.connect(controller.render_now)
        # Dragging an A↔B slider: the newest value renders as soon as the thread is free (fast preview).
        for mix in (self.regions_panel.region_mix, self.regions_panel.master_mix):
            mix.dragStarted.connect(controller.begin_continuous)
            mix.dragFinished.connect(controller.end_continuous)
        # Enter or Esc in the label search: the keys are shortcuts again (R picks the rectangle, not "carr").
        self.palette_panel.searchFinished.connect(lambda: self.canvas.setFocus(Qt.FocusReason.OtherFocusReason))
        # Photo edits: the edit-mask view, and re-compositing (no render) when only the blend changes.
        self.engine_panel.composite_controls.editMaskToggled.connect(self.canvas.set_edit_mask_visible)
        self.recompositor = Recompositor(self.state, self)
        self.engine_panel.autoRenderToggled.connect(lambda on: setattr(controller, "auto_render", on))
        self.engine_panel.fastPreviewToggled.connect(lambda on: setattr(controller, "fast_preview", on))
        controller.compile_fast = self.engine_panel.compile_fast.isChecked()
        self.engine_panel.compileToggled.connect(lambda on: setattr(controller, "compile_fast", on))
        self.jobs_panel.open_in_editor.connect(self.use_trained_checkpoint)
        self.regions_panel.selectionChanged.connect(self.canvas.highlight_regions)
        self.start_screen.newRequested.connect(lambda: self.files.new_document())
        self.start_screen.openRequested.connect(self.files.ask_open)
        self.start_screen.openPath.connect(self.files.open_project)
        self.start_screen.modelsRequested.connect(self.show_models)
        self.state.documentReplaced.connect(self._show_start_or_canvas)
        # A style thumbnail dropped on a region, on the canvas or on its table row, styles that region.
        self.style_drops = (
            StyleDropTarget(
                self.canvas.viewport(),
                self.state,
                lambda pos: self.canvas.class_at(self.canvas.document_point(QPointF(pos))),
            ),
            StyleDropTarget(self.regions_panel.table.viewport(), self.state, self.regions_panel.class_at_row),
        )
        self.canvas.regionClicked.connect(self._select_region_at)
        self.canvas.selectionCleared.connect(lambda: self.regions_panel.select_regions([]))
        self.tools.busyChanged.connect(self.busy.setVisible)

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
        self._apply_engine_choice()
        self._warn_missing_engine()
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

    def open_at_start(self, open_path: Path | None, document: Document | None = None) -> None:
        """What ``regionpaint gui [--open DOC | --label MAP]`` does once the window shows: offer the unsaved work
        of crashed sessions (of DOC, when one is named: opening it offers its own), then open DOC, or the new
        ``document`` (made from MAP; crashed sessions are then only mentioned, as beside DOC)."""
        if document is not None:
            self.set_document(document, None)
        elif open_path is None:
            self.offer_recovery()
            return
        else:
            self.open_project(Path(open_path))
        others = self.autosave.store.recoverable() if self.autosave is not None else []
        if others:
            count = "1 session" if len(others) == 1 else f"{len(others)} sessions"
            self.notice.show_message(
                f"Unsaved work of {count} that did not exit cleanly can be recovered.",
                "Recover…",
                self.recover_sessions,
            )

    def offer_recovery(self, for_path: Path | None = None) -> bool:
        """Offer the unsaved work of crashed sessions (only those editing ``for_path``, when given), newest
        first; True when one was recovered.

        "Later" keeps it for File › Recover…; declining deletes it.
        """
        if self.autosave is None:
            return False
        from regionpaint.app.model.file_stamp import same_file

        store = self.autosave.store
        items = store.recoverable()
        if for_path is not None:
            items = [item for item in items if same_file(item.source, Path(for_path))]
        for item in items:
            accepted = self.ask_recover(self, item.describe(), item.saved_at)
            if accepted == "later":
                continue
            if accepted:
                return self._recover(item)
            store.forget(item)
        return False

    def recover_sessions(self) -> bool:
        """File › Recover…: list the sessions that did not exit cleanly and recover the one chosen."""
        if self.autosave is None:
            return False
        items = self.autosave.store.recoverable()
        index = self.choose_recovery(self, [item.describe() for item in items])
        if index is None or not 0 <= index < len(items):
            return False
        if not self.files.may_replace_document():
            return False
        return self._recover(items[index])

    def _recover(self, item) -> bool:
        from regionpaint.app.model.project import ProjectError
        from regionpaint.app.qt.file_actions import label_sets

        store = self.autosave.store
        try:
            recovered = store.load(item, label_sets())
        except ProjectError as exc:
            self.show_error(f"The unsaved work could not be recovered: {exc}")
            return False
        if not self.set_document(recovered.document, item.source, dirty=True):
            return False
        store.forget(item)
        # The project as that session knew it: saving asks if someone changed it on disk since.
        self.files.note_disk_stamp(item.source, item.source_stamp)
        self.statusBar().showMessage("Recovered the unsaved work of the last session", 8000)
        if recovered.notes:
            self.show_error(" ".join(recovered.notes))
        return True

    def note_source(self, path: Path | None, stamp) -> None:
        """The document now belongs to ``path`` (opened, saved or recovered), whose stamp on disk is ``stamp``."""
        if self.autosave is not None:
            self.autosave.note_source(path, stamp)

    # -- feedback ----------------------------------------------------------------------------
    def new_training_job(self) -> None:
        """Ask for a dataset and options, then run ``regionpaint train`` as a separate process."""
        dialog = TrainDialog(self, settings=self.settings)  # remembers its values between jobs
        argv = dialog.get_command()
        if argv is None:
            return
        self.jobs_panel.start_job(argv, dialog.run_folder())
        self.show_jobs()

    def show_jobs(self) -> None:
        self.jobs_dock.show()
        self.jobs_dock.raise_()

    def new_batch_job(self) -> None:
        """Ask for a folder of label maps, then run ``regionpaint batch`` as a job in the Jobs panel."""
        document = self.state.document
        engine = document.engine if document is not None else None
        dialog = BatchDialog(  # the document's engine and options are where the batch's start
            self,
            checkpoint=engine.checkpoint if engine is not None else None,
            engine=engine.engine_id if engine is not None else "",
            options=dict(engine.options) if engine is not None else None,
            settings=self.settings,  # the checkpoint picker lists what the Engine panel's does
            models_folder=models_dir(self.data_folder),
        )
        argv = dialog.get_command()
        if argv is None:
            return
        self.jobs_panel.start_job(argv, dialog.output_folder())
        self.side_tabs.setCurrentWidget(self.jobs_panel)

    def use_trained_checkpoint(self, run_folder: str) -> None:
        """ "Open in editor" of a finished job: list its folder and render with it, engine and checkpoint
        together. A run for another label set gets a new document (after asking), never the open one."""
        from regionpaint.app.model import edits
        from regionpaint.app.qt.panels.jobs import engine_of
        from regionpaint.app.training.trained_run import read_run

        path = Path(run_folder)
        self.settings.add_checkpoint_path(path)
        hint = next((engine_of(job.argv) for job in self.jobs_panel.jobs if Path(job.run_dir) == path), "")
        run = read_run(path, hint)
        doc = self.state.document
        if doc is None:
            self.statusBar().showMessage(f"{path.name} added to the checkpoints; open a document to render with it")
            return
        if run.label_set_id and run.label_set_id != doc.label_set_id:
            if self.ask_new_document_for_run(self, path, run.label_set_id, doc.label_set_id):
                self.files.new_document(run.label_set_id, engine_id=run.engine_id, checkpoint=str(path))
            else:
                self.statusBar().showMessage(f"{path.name} added to the checkpoints (its label set differs)", 8000)
            return
        self.state.edit(edits.set_engine_settings, engine_id=run.engine_id, checkpoint=str(path))
        self.engine_panel.choices.rescan()  # lists the new folder among the checkpoints
        self.side_tabs.setCurrentWidget(self.engine_panel)

    def _show_start_or_canvas(self) -> None:
        self.canvas.highlight_regions(self.regions_panel.selected_regions())  # the table may keep a selection
        if self.state.document is None:
            self.start_screen.refresh(self.settings.recent_files())
            self.central_pages.setCurrentWidget(self.start_screen)
        else:
            self.central_pages.setCurrentWidget(self.canvas)

    def _select_region_at(self, point, add: bool) -> None:
        """Ctrl-click on the canvas: select the region under it in the table (Ctrl+Shift: add or remove)."""
        class_id = self.canvas.class_at(point)
        if class_id is None:
            return
        chosen = self.regions_panel.selected_regions()
        if add:
            chosen = [c for c in chosen if c != class_id] if class_id in chosen else [*chosen, class_id]
        else:
            chosen = [class_id]
        self.regions_panel.select_regions(chosen)

    def show_error(self, message: str) -> None:
        """Status bar plus a non-modal notice above the canvas; the editor stays usable."""
        log.info("notice: %s", message)
        self.statusBar().showMessage(message, 10000)
        self.notice.show_message(message)

    def _show_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def _show_render_started(self, job) -> None:
        """Say what the engine is doing now: loading the model, a quick preview, refining."""
        step = status_words.RenderStep(
            fast=bool(job.request.fast),
            model_loaded=(job.job.engine_id, job.checkpoint) in self._rendered_with,
            after_preview=not job.request.fast and self._last_render_fast,
        )
        self.render_label.setText(status_words.while_rendering(step))

    def _note_warmed_up(self, outcome) -> None:
        if outcome.ok and outcome.warm.checkpoint:  # the model is loaded: the first render only renders
            self._rendered_with.add((outcome.warm.engine_id, outcome.warm.checkpoint))

    def _show_render(self, outcome: EditorRenderOutcome) -> None:
        self.notice.hide()
        latency = self.render_controller.last_latency
        engine_class = self.state.engine_class()
        engine = engine_class.display_name if engine_class is not None else outcome.engine_id
        fast = bool(outcome.job.request.fast)
        self._rendered_with.add((outcome.job.job.engine_id, outcome.job.checkpoint))
        if self.state.document is not None and outcome.job.checkpoint:  # a new document of this kind starts here
            self.settings.set_last_checkpoint(self.state.document.label_set_id, outcome.job.checkpoint)
        self._last_render_fast = fast
        self.render_label.setText(status_words.when_done(engine, fast, outcome.seconds, latency))
        self.render_label.setToolTip(status_words.details(engine, outcome.device, fast, outcome.seconds))

    def _show_render_state(self) -> None:
        """Say why nothing renders before the first render (or after the checkpoint was cleared), in the
        status line and where the result will be."""
        doc = self.state.document
        if doc is not None and not doc.engine.checkpoint and self.state.engine_needs_checkpoint():
            self.render_label.setText("No checkpoint chosen")
            self.canvas.result_item.set_placeholder_text(NO_MODEL_PLACEHOLDER)
        elif doc is not None and doc.last_render is None and not self.render_controller.busy:
            self.render_label.setText("Not rendered yet")
            self.canvas.result_item.set_placeholder_text(
                "Not rendered yet.\nRender › Render now (Ctrl+R)"
                if not self.render_controller.auto_render
                else "Not rendered yet"
            )

    def _offer_cancel_render(self, job) -> None:
        from regionpaint.app.render.guard import engine_label

        name = engine_label(job.engine_id) if job.engine_id else "The engine"
        message = f"{name} has been rendering for over {self.render_controller.timeout_s:g} s."
        self.notice.show_message(message, "Stop waiting", self.cancel_render)

    def cancel_render(self) -> None:
        """Render › Stop waiting: abandon the running render; the editor keeps working."""
        self.render_controller.cancel_render()

    def _show_render_error(self, message: str) -> None:
        self.render_label.setText("Render failed" if self.state.document is not None else "")
        message = self._missing_engine_message() or message  # say which package to install
        doc = self.state.document
        if doc is not None and not doc.engine.checkpoint and self.state.engine_needs_checkpoint():
            self.statusBar().showMessage(message, 10000)  # not an error: nothing chosen yet
            self.render_label.setText("No checkpoint chosen")
            self.canvas.result_item.set_placeholder_text(NO_MODEL_PLACEHOLDER)
            return
        if doc is not None and doc.last_render is None:
            self.canvas.result_item.set_placeholder_text("The render failed.\nSee the message above the canvas.")
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

    # -- plugins -----------------------------------------------------------------------------
    def show_plugins(self) -> PluginsDialog:
        """The Plugins dialog (non-modal); a change there refreshes the engine picker at once."""
        if self.plugins_dialog is None:
            self.plugins_dialog = PluginsDialog(self)
            self.plugins_dialog.pluginsChanged.connect(self._on_plugins_changed)
        self.plugins_dialog.refresh()
        self.plugins_dialog.show()
        self.plugins_dialog.raise_()
        return self.plugins_dialog

    # -- models ------------------------------------------------------------------------------
    def show_models(self):
        """The Models dialog (non-modal): the official checkpoints, downloads, what is installed."""
        if self.models_dialog is None:
            from regionpaint.app.qt.dialogs.models import ModelsDialog

            self.models_dialog = ModelsDialog(self, models_dir(self.data_folder))
            self.models_dialog.modelsChanged.connect(self.engine_panel.choices.rescan)
        self.models_dialog.refresh()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def _on_plugins_changed(self) -> None:
        self.engine_panel.choices.reload_engines()
        self.state.capabilitiesChanged.emit()
        self._show_render_state()

    def _announce_plugin_errors(self) -> None:
        message = load_error_message()
        if message:
            log.info("plugins: %s", message)
            self.plugin_notice.show_message(message)

    def _missing_engine_message(self) -> str | None:
        """What to install when the document's engine is not registered (None when it is)."""
        from regionpaint.plugins.manager import get_plugin_manager

        doc = self.state.document
        manager = get_plugin_manager()
        if doc is None or not doc.engine.engine_id or doc.engine.engine_id in manager.engines():
            return None
        return manager.missing_engine_message(doc.engine.engine_id, doc.engine.package)

    def _warn_missing_engine(self) -> None:
        message = self._missing_engine_message()
        if message:
            self.show_error(message)

    def choose_engine(self, engine_id: str = "", checkpoint: str = "") -> None:
        """``gui --engine/--checkpoint``: use them for the open document, or the next one opened."""
        self._engine_choice = (engine_id, checkpoint)
        if self.state.document is not None:
            self._apply_engine_choice()

    def _apply_engine_choice(self) -> None:
        if self._engine_choice is None or self.state.document is None:
            return
        from regionpaint.app.model import edits
        from regionpaint.plugins.manager import get_plugin_manager

        engine_id, checkpoint = self._engine_choice
        self._engine_choice = None
        changes: dict = {}
        if engine_id:
            package, version = get_plugin_manager().engine_provider(engine_id)
            changes.update(engine_id=engine_id, package=package, package_version=version)
        if checkpoint:
            changes["checkpoint"] = str(Path(checkpoint).resolve())
        if changes:
            self.state.edit(edits.set_engine_settings, **changes)

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).show()

    def _about(self) -> None:
        from regionpaint.app.qt.dialogs.about import AboutDialog

        self.about_dialog = AboutDialog(self)
        self.about_dialog.show()

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
        self._save_window()  # while the window is still shown: its geometry and dock layout are the real ones
        self.hide()  # gone at once, even while the render thread gets its few seconds to finish
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the render thread (waiting a few seconds at most: a hung engine's thread is left behind, and the
        process ends without it, see ``regionpaint.app.qt.main``), training jobs (they save first) and autosave (a clean
        exit); remember the window and write the settings out."""
        self.render_controller.shutdown()
        self.jobs_panel.stop_all()
        if self.autosave is not None:
            self.autosave.stop(clean=True)
            self.autosave = None
        if self.isVisible():
            self._save_window()
        self.settings.sync()  # the process may end with os._exit next (a stuck render thread): nothing unwritten
