"""Screenshots of the editor's denser panels (engine, styles, training preset) for the README's before/after.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_panel_screenshots.py [--out DIR] [--tag after]

Opens the bundled face demo (SEAN demo model) and the street demo in a real window, waits for the exact
render, and grabs the Engine panel and the Styles panel as PNGs named ``panel-<name>-<tag>.png``. Run it in
an older checkout with ``--tag before`` to compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)
from regionpaint.app.bundled_demo import DEMO_DIR  # noqa: E402
from regionpaint.app.model import edits  # noqa: E402
from regionpaint.app.model.project import open_project  # noqa: E402

DOCS = Path(__file__).resolve().parent


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def shoot(project: Path, out: Path, tag: str, scratch: Path) -> None:
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(scratch / f"{project.stem}.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, data_folder=scratch, autosave=False, remember_window=False)
    window.ask_unsaved = lambda *_: "discard"
    window.resize(1440, 900)
    window.show()
    doc = open_project(project)
    edits.set_engine_settings(doc, device="cpu")
    doc.history.clear()
    window.set_document(doc, project)
    for _ in range(1200):  # at most two minutes
        wait(100)
        if doc.last_render is not None and not window.render_controller.busy:
            break
    wait(500)
    window.engine_panel.grab().save(str(out / f"panel-engine-{project.stem}-{tag}.png"))
    window.styles_panel.grab().save(str(out / f"panel-styles-{project.stem}-{tag}.png"))
    window.statusBar().grab().save(str(out / f"panel-status-{project.stem}-{tag}.png"))
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--tag", default="after")
    args = parser.parse_args()
    application = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("faces.rpaint", "streets.rpaint"):
            shoot(DEMO_DIR / name, args.out, args.tag, Path(scratch))
    application.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
