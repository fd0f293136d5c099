"""Help › About: the version, where regionpaint runs from, and every loaded plugin with what it adds."""

from __future__ import annotations

import html
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


def about_html() -> str:
    """The About text: version, Python and Qt versions, and a table of plugins (errors included)."""
    import PySide6

    from regionpaint import __version__
    from regionpaint.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    rows = []
    for info in manager.plugins.values():
        adds = ", ".join([*info.engines, *info.label_sets]) or ", ".join(info.hooks) or "–"
        problem = f"<br><span style='color:#b00020'>{html.escape('; '.join(info.errors))}</span>" if info.errors else ""
        rows.append(
            f"<tr><td>{html.escape(info.name)}</td><td>{html.escape(info.version)}</td>"
            f"<td>{html.escape(info.source)}</td><td>{html.escape(adds)}{problem}</td></tr>"
        )
    table = "".join(rows) or "<tr><td colspan=4>none</td></tr>"
    python = sys.version.split()[0]
    return (
        f"<h2>regionpaint {html.escape(__version__)}</h2>"
        "<p>Repaint the semantic regions of a photo and render them with SPADE, SEAN, pix2pixHD "
        "or an engine from a plugin.</p>"
        f"<p>Python {python} · PySide6 {PySide6.__version__}</p>"
        "<h3>Loaded plugins</h3>"
        "<table cellspacing=0 cellpadding=3 border=1>"
        "<tr><th>Plugin</th><th>Version</th><th>From</th><th>Adds</th></tr>"
        f"{table}</table>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About regionpaint")
        self.setMinimumWidth(520)
        self.text = QLabel(about_html())
        self.text.setObjectName("aboutText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
