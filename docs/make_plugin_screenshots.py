"""Make the plugin screenshots in docs/: the Plugins dialog and the editor rendering with the example engine.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_plugin_screenshots.py

Builds a throw-away environment (a venv linked to this one's packages, as the tests do), installs the
example plugin (plugins/examples/regionpaint-transfer) and a plugin made for plugin API 2.0 (so the
dialog shows a load error), then runs itself inside that environment: opens the bundled face demo,
switches it to the transfer engine (no checkpoint), waits for the render, installs the example again
through the dialog (live pip output) and saves both pictures next to this file. Nothing is downloaded
and the person's settings and plugins are untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = Path(__file__).resolve().parent
EXAMPLE = REPO / "plugins" / "examples" / "regionpaint-transfer"
OFFLINE = ("--no-deps", "--no-build-isolation")
HAIR, SKIN = 13, 1  # CelebAMask-HQ ids

OLD_PLUGIN = {
    "pyproject.toml": """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "regionpaint-oldstyle"
version = "2.3.0"

[project.entry-points.regionpaint]
oldstyle = "regionpaint_oldstyle"
""",
    "regionpaint_oldstyle/__init__.py": """import regionpaint

REGIONPAINT_API = "2.0"


@regionpaint.hookimpl
def register_engines(register):
    pass
""",
}


def prepare(scratch: Path) -> None:
    sys.path.insert(0, str(REPO))
    from tests.plugin_env import example_copy, make_plugin_env

    env = make_plugin_env(scratch / "env")
    old = scratch / "oldstyle"
    for name, text in OLD_PLUGIN.items():
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_text(text)
    example = example_copy(scratch)  # pip's in-tree build must not litter the repository
    result = env.cli("plugins", "install", str(example), str(old), *OFFLINE)
    print(result.stdout[-1500:], result.stderr[-1500:])
    inside = [env.python, str(Path(__file__).resolve()), "--inside"]
    qpa = os.environ.get("QT_QPA_PLATFORM", "xcb")
    subprocess.run(inside, check=True, env=env.env(QT_QPA_PLATFORM=qpa, EXAMPLE_COPY=str(example)))


def shoot() -> None:
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import regionpaint.app.qt  # noqa: F401  (first: the PySide6 work-around)
    from regionpaint.app.bundled_demo import FACE_DEMO
    from regionpaint.app.model import edits
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    qt_app = QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        settings = EditorSettings(QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings, autosave=False, remember_window=False, data_folder=Path(scratch))
        window.resize(1440, 900)
        window.show()
        window.open_project(FACE_DEMO)
        window.choose_engine("transfer")
        # Hair from face B, skin half A half B: per-region styles and mixes, both honoured by the engine.
        window.state.label_edit(edits.assign_style, (("B", 1.0),), [HAIR])
        window.state.label_edit(edits.assign_style, (("A", 0.5), ("B", 0.5)), [SKIN])
        dialog = window.show_plugins()
        dialog.resize(1000, 640)
        dialog.move(window.x() + 220, window.y() + 130)
        steps = {"rendered": False}

        def rendered(*_):
            if steps["rendered"]:
                return
            steps["rendered"] = True
            QTimer.singleShot(400, lambda: save(window, "plugins-editor-transfer.png", hide=dialog))
            dialog.spec.setText(os.environ.get("EXAMPLE_COPY", str(EXAMPLE)))
            dialog.offline.setChecked(True)
            dialog.install()

        def installed():
            dialog.select("oldstyle")
            QTimer.singleShot(400, lambda: (save(dialog, "plugins-dialog.png"), qt_app.quit()))

        window.render_controller.renderFinished.connect(rendered)
        dialog.pluginsChanged.connect(installed)
        QTimer.singleShot(180_000, qt_app.quit)
        qt_app.exec()
        window.ask_unsaved = lambda *_: "discard"
        window.shutdown()


def save(widget, name: str, hide=None) -> None:
    if hide is not None:
        hide.hide()
    path = DOCS / name
    widget.grab().save(str(path))  # full colour: label colours must stay exact (about 0.5 MB)
    print(f"saved {path}")
    if hide is not None:
        hide.show()


if __name__ == "__main__":
    if "--inside" in sys.argv:
        shoot()
    else:
        with tempfile.TemporaryDirectory(prefix="regionpaint-plugin-shots-") as folder:
            prepare(Path(folder))
