"""The Plugins dialog: what is installed and provides what; install / uninstall with live pip output; enable / disable.

pip runs in a ``QProcess`` (the editor stays responsive and Cancel stops it); when it ends the plugin
manager is reloaded and :attr:`PluginsDialog.pluginsChanged` fires, so the engine picker lists a new
engine without a restart. Enable / disable goes through :mod:`regionpaint.plugins.state`, which the command line
reads too. :class:`PluginNotice` shows plugin load errors once per session above the canvas.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.qt.notice import NoticeBar

log = logging.getLogger(__name__)

COLUMNS = ("Plugin", "Package", "Version", "Status", "Provides", "Errors")
_errors_shown = False  # load errors are announced once per editor session


def plugin_rows() -> list[dict]:
    """The rows of ``regionpaint plugins list``, commands included."""
    from regionpaint.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    manager.collect_commands()
    return manager.plugin_rows()


def provides_text(row: dict) -> str:
    parts = []
    if row["engines"]:
        parts.append("engines: " + ", ".join(row["engines"]))
    if row["label_sets"]:
        parts.append("label sets: " + ", ".join(row["label_sets"]))
    if row["commands"]:
        parts.append("commands: " + ", ".join(row["commands"]))
    return "; ".join(parts) or "-"


def details_text(row: dict | None) -> str:
    """What the line under the table says about the selected plugin (its errors in full)."""
    if row is None:
        return "Select a plugin. Disabled plugins are not loaded by the editor or the command line."
    api = f"plugin API {row['api']}" if row["api"] else "plugin API not declared"
    text = f"<b>{row['name']}</b> ({row['distribution']} {row['version']}, {api}): {row['status']}."
    if row["errors"]:
        escaped = "<br>".join(error.replace("&", "&amp;").replace("<", "&lt;") for error in row["errors"])
        text += f"<br><span style='color:#c0392b'>{escaped}</span>"
    return text


def load_error_message() -> str | None:
    """The plugins that failed to load, in one line, the first time this is asked in the process; else None."""
    global _errors_shown
    from regionpaint.plugins.manager import get_plugin_manager

    errors = get_plugin_manager().errors
    if _errors_shown or not errors:
        return None
    _errors_shown = True
    listed = "; ".join(f"{plugin}: {error}" for plugin, error in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"Some plugins did not load and were skipped. {listed}{more}"


class PluginNotice(NoticeBar):
    """A dismissable notice about plugin load errors, with a button that opens the Plugins dialog."""

    showPlugins = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pluginNotice")
        self.setStyleSheet(
            "#pluginNotice { background: #4a3f1c; border-bottom: 1px solid #7a6a2c; }"
            "#pluginNotice QLabel { color: #f3e8c4; }"
        )
        button = QPushButton("Plugins…")
        button.clicked.connect(self.showPlugins)
        button.clicked.connect(self.hide)
        self.layout().insertWidget(1, button)


class PluginsDialog(QDialog):
    pluginsChanged = Signal()  # the plugin manager was reloaded: engines and label sets may differ

    def __init__(self, parent: QWidget | None = None, python: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.setObjectName("pluginsDialog")
        self.resize(980, 620)
        self.python = python or sys.executable  # pip of the environment the editor runs in
        self.process: QProcess | None = None
        self._pending_distribution = ""
        self.table = QTreeWidget()
        self.table.setObjectName("pluginTable")
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.header().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.toggle_button = QPushButton("Disable")
        self.toggle_button.clicked.connect(self.toggle_selected)
        self.uninstall_button = QPushButton("Uninstall")
        self.uninstall_button.clicked.connect(self.uninstall_selected)
        self.details = QLabel()
        self.details.setObjectName("pluginDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.details, 1)
        row_buttons.addWidget(self.toggle_button)
        row_buttons.addWidget(self.uninstall_button)

        self.spec = QLineEdit()
        self.spec.setObjectName("installSpec")
        self.spec.setPlaceholderText("package name (regionpaint-transfer), wheel file or project folder")
        self.spec.returnPressed.connect(self.install)
        wheel, folder = QToolButton(), QToolButton()
        wheel.setText("Wheel…")
        folder.setText("Folder…")
        wheel.clicked.connect(self._browse_wheel)
        folder.clicked.connect(self._browse_folder)
        self.editable = QCheckBox("Editable (-e, for a folder you develop)")
        self.offline = QCheckBox("Without dependencies (offline)")
        self.offline.setToolTip("pip --no-deps --no-build-isolation: use what is installed already")
        self.install_button = QPushButton("Install")
        self.install_button.setDefault(True)
        self.install_button.clicked.connect(self.install)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        spec_row = QHBoxLayout()
        spec_row.addWidget(self.spec, 1)
        spec_row.addWidget(wheel)
        spec_row.addWidget(folder)
        option_row = QHBoxLayout()
        option_row.addWidget(self.editable)
        option_row.addWidget(self.offline)
        option_row.addStretch(1)
        option_row.addWidget(self.install_button)
        option_row.addWidget(self.cancel_button)
        self.output = QPlainTextEdit()
        self.output.setObjectName("pipOutput")
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText("pip's output appears here")
        install_box = QGroupBox("Install a plugin")
        install_layout = QVBoxLayout(install_box)
        install_layout.addLayout(spec_row)
        install_layout.addLayout(option_row)
        install_layout.addWidget(self.output, 1)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addLayout(row_buttons)
        layout.addWidget(install_box, 2)
        layout.addWidget(close)
        self.refresh()

    # -- the table ---------------------------------------------------------------------------
    def refresh(self) -> None:
        selected = self.selected_name()
        self.table.clear()
        for row in plugin_rows():
            package = row["distribution"] if row["source"] != "built-in" else "regionpaint (built-in)"
            errors = "; ".join(row["errors"])
            item = QTreeWidgetItem(
                [row["name"], package, row["version"], row["status"], provides_text(row), errors or "-"]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, row)
            if errors:
                item.setToolTip(5, "\n".join(row["errors"]))
                item.setForeground(3, Qt.GlobalColor.red)
                item.setForeground(5, Qt.GlobalColor.red)
            elif row["status"] == "disabled":
                item.setForeground(3, Qt.GlobalColor.gray)
            self.table.addTopLevelItem(item)
            if row["name"] == selected:
                item.setSelected(True)
        self._update_buttons()

    def rows(self) -> list[dict]:
        return [
            self.table.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.table.topLevelItemCount())
        ]

    def select(self, name: str) -> None:
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            item.setSelected(item.text(0) == name)

    def selected_row(self) -> dict | None:
        items = self.table.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def selected_name(self) -> str:
        row = self.selected_row()
        return row["name"] if row else ""

    def _update_buttons(self) -> None:
        row = self.selected_row()
        installed = row is not None and row["source"] == "entry point"
        busy = self.process is not None
        self.toggle_button.setEnabled(installed and not busy)
        self.uninstall_button.setEnabled(installed and bool(row["distribution"]) and not busy)
        self.toggle_button.setText("Enable" if row is not None and row["status"] == "disabled" else "Disable")
        self.details.setText(details_text(row))
        self.install_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    # -- enable / disable ----------------------------------------------------------------------
    def toggle_selected(self) -> None:
        from regionpaint.plugins.manager import reload_plugin_manager
        from regionpaint.plugins.state import set_enabled

        row = self.selected_row()
        if row is None or row["source"] != "entry point":
            return
        set_enabled(row["name"], row["status"] == "disabled")
        reload_plugin_manager()
        self.refresh()
        self.pluginsChanged.emit()

    # -- pip -----------------------------------------------------------------------------------
    def install(self) -> None:
        from regionpaint.plugins.install import distribution_name, pip_install_args

        spec = self.spec.text().strip()
        if not spec or self.process is not None:
            return
        offline = self.offline.isChecked()
        argv = pip_install_args([spec], editable=self.editable.isChecked(), no_deps=offline, no_build_isolation=offline)
        self._pending_distribution = distribution_name(spec)
        self._run_pip(argv[1:])

    def uninstall_selected(self) -> None:
        from regionpaint.plugins.install import pip_uninstall_args

        row = self.selected_row()
        if row is None or row["source"] != "entry point" or not row["distribution"]:
            return
        self._pending_distribution = ""
        self._run_pip(pip_uninstall_args([row["distribution"]])[1:])

    def _run_pip(self, arguments: list[str]) -> None:
        self.output.appendPlainText("$ pip " + " ".join(arguments[2:]))
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._process_error)
        self.process = process
        self._update_buttons()
        process.start(self.python, arguments)

    def _read_output(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
            self.output.insertPlainText(text)
            self.output.ensureCursorVisible()

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.output.appendPlainText(f"Could not start {self.python}: {self.process.errorString()}")
            self._done()

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        from regionpaint.plugins.install import normalize
        from regionpaint.plugins.manager import reload_plugin_manager

        self._read_output()
        cancelled = status == QProcess.ExitStatus.CrashExit
        if cancelled:
            self.output.appendPlainText("Cancelled.")
        elif code != 0:
            self.output.appendPlainText(f"pip failed (exit {code}); nothing was changed.")
        self._done()
        if cancelled or code != 0:
            return
        reload_plugin_manager()
        self.refresh()
        wanted = normalize(self._pending_distribution) if self._pending_distribution else ""
        for row in self.rows():
            if wanted and normalize(row["distribution"]) == wanted:
                self.output.appendPlainText(f"{row['name']} {row['version']}: {row['status']}; {provides_text(row)}")
                self.select(row["name"])
        self.output.appendPlainText("Done.")
        bar = self.output.verticalScrollBar()
        bar.setValue(bar.maximum())  # the summary is the line to read
        self.pluginsChanged.emit()

    def _done(self) -> None:
        if self.process is not None:
            self.process.deleteLater()
        self.process = None
        self._update_buttons()

    def cancel(self) -> None:
        if self.process is not None:
            self.process.kill()

    def _browse_wheel(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Plugin wheel", "", "Wheels (*.whl);;Archives (*.tar.gz *.zip)")
        if path:
            self.spec.setText(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Plugin project folder (with pyproject.toml)")
        if path:
            self.spec.setText(path)

    def reject(self) -> None:
        if self.process is not None:  # closing stops a running pip rather than leaving it orphaned
            self.process.kill()
            self.process.waitForFinished(5000)
        super().reject()
