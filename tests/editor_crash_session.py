"""A scripted editor session run as its own process by tests/test_crash_recovery.py (not a test module).

``python -m tests.editor_crash_session DATA_FOLDER MODE``

- ``mouse``: paints strokes with real mouse events on the canvas, changes a region's style, takes one
  snapshot half-way, then presses and drags a last stroke without releasing it, prints ``mid-stroke``
  and waits to be killed. Prints ``done N CRC`` (CRC-32 of the label map) after every finished edit.
- ``loop``: edits as fast as it can through the model (one grouped stroke each), printing ``done N``,
  until killed: the kill lands at an arbitrary moment.
- ``project PATH N [K]``: opens the project PATH as ``gui --open`` does, paints N brush strokes with real
  mouse events (a snapshot after stroke K when K > 0), prints ``done N CRC`` after each and ``ready``, and
  waits to be killed.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def crc(doc) -> int:
    return zlib.crc32(doc.label.tobytes())


def loop_stroke(doc, number: int) -> None:
    """Stroke ``number`` of the loop mode: the same in the child and in the test that checks it."""
    from regionpaint.app.model import edits
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ

    y = 3 + (number * 5) % 42
    with doc.history.group("Brush"):
        for x in range(4, 60, 8):  # one dab per move, like the brush tool
            edits.paint_stroke(doc, CELEBAMASK_HQ, [(x, y), (x + 8, y + 1)], 1 + number % 18, 2.0)


def project_session(app, window_class, settings, data_folder: Path, project: Path, strokes: int, snapshot: int) -> None:
    from PySide6.QtCore import QEvent

    from tests.qt_support import mouse, view_pos

    window = window_class(settings=settings, data_folder=data_folder, remember_window=False)
    window.ask_recover = lambda *_: "later"  # other sessions' work stays where it is
    window.resize(1000, 700)
    window.show()
    app.processEvents()
    if not window.open_project(project):
        print("cannot open", flush=True)
        return
    app.processEvents()
    window.canvas.fit()
    doc = window.document
    window.tools.set_tool("brush")
    window.tools.set_brush_size(max(3, doc.width // 64))
    canvas = window.canvas
    for number in range(strokes):
        window.state.current_label = (21, 26, 24, 8, 17)[number % 5]  # vegetation, car, person, sidewalk, pole
        y = doc.height * (0.2 + 0.12 * number)
        points = [view_pos(canvas, doc.width * f, y + doc.height * f / 20) for f in np.linspace(0.1, 0.9, 12)]
        mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
        for point in points[1:]:
            mouse(canvas, QEvent.Type.MouseMove, point)
        mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1])
        app.processEvents()
        print(f"done {number + 1} {crc(doc)}", flush=True)
        if number + 1 == snapshot:
            window.autosave.autosave_now(wait=True)
            print("snapshot", flush=True)
    print("ready", flush=True)
    app.exec()


def main(data_folder: Path, mode: str, *extra: str) -> None:
    from PySide6.QtCore import QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings
    from tests.qt_support import face_document, mouse, view_pos

    settings = EditorSettings(QSettings(str(data_folder / "settings.ini"), QSettings.Format.IniFormat))
    if mode == "project":
        project_session(app, MainWindow, settings, data_folder, Path(extra[0]), int(extra[1]), int(extra[2]))
        return
    window = MainWindow(face_document(), settings=settings, data_folder=data_folder, remember_window=False)
    window.resize(1000, 700)
    window.show()
    app.processEvents()
    window.canvas.fit()
    doc = window.document

    def say(text: str) -> None:
        print(text, flush=True)

    if mode == "loop":
        count = {"n": 0}

        def step() -> None:
            loop_stroke(doc, count["n"])
            count["n"] += 1
            say(f"done {count['n']} {crc(doc)}")

        timer = QTimer(interval=0)
        timer.timeout.connect(step)
        timer.start()
        app.exec()
        return

    window.tools.set_tool("brush")
    window.tools.set_brush_size(5)
    canvas = window.canvas
    for number in range(6):
        window.state.current_label = 2 + number
        y = 5 + number * 6
        points = [view_pos(canvas, x, y + x / 20) for x in range(4, 60, 4)]
        mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
        for point in points[1:]:
            mouse(canvas, QEvent.Type.MouseMove, point)
        mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1])
        app.processEvents()
        say(f"done {number + 1} {crc(doc)}")
        if number == 2:
            window.autosave.autosave_now(wait=True)  # a snapshot half-way: recovery is snapshot + journal
            say("snapshot")
    from regionpaint.app.model import edits
    from regionpaint.app.model.document import StyleSourceData

    image = doc.photo[::-1].copy()
    window.state.edit(edits.add_style_source, "B", StyleSourceData(image, doc.label.copy(), None, "b.png"))
    window.state.label_edit(edits.assign_style, [("B", 1.0)], [13])
    say(f"done styles {crc(doc)}")
    window.state.current_label = 4
    points = [view_pos(canvas, x, 40) for x in range(4, 60, 4)]
    mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
    for point in points[1:]:
        mouse(canvas, QEvent.Type.MouseMove, point)
    app.processEvents()
    say(f"mid-stroke {crc(doc)}")
    app.exec()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], *sys.argv[3:])
