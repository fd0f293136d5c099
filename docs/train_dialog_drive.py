"""Drive the Train dialog with real input events (xdotool) under Xvfb and screenshot each state.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/train_dialog_drive.py OUT_DIR

Types ``~/data/streets`` into Dataset (the run folder follows it), ticks and unticks Advanced (the dialog
grows within the 1000-px screen and shrinks back) and picks the "CPU quick look" size. Writes
``typed.png``, ``advanced.png``, ``closed.png``, ``quick_look.png`` (whole screen) into OUT_DIR.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regionpaint.app.qt.dialogs.train import TrainDialog  # noqa: E402
from regionpaint.app.qt.settings import EditorSettings  # noqa: E402


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    settings = EditorSettings(QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat))
    dialog = TrainDialog(None, settings=settings)
    dialog.move(40, 20)
    dialog.show()

    def centre(widget) -> tuple[int, int]:
        point = widget.mapToGlobal(widget.rect().center())
        return point.x(), point.y()

    def x(*args: str) -> None:
        subprocess.run(["xdotool", *args], check=True)
        time.sleep(0.6)

    def shot(name: str) -> None:
        time.sleep(0.8)
        subprocess.run(["import", "-window", "root", str(out / name)], check=True)

    def script() -> None:
        time.sleep(1.5)
        x("mousemove", *map(str, centre(dialog.data)), "click", "1")
        x("type", "--delay", "60", "~/data/streets")
        shot("typed.png")
        box = dialog.advanced.mapToGlobal(dialog.advanced.rect().topLeft())
        x("mousemove", str(box.x() + 12), str(box.y() + 8), "click", "1")
        shot("advanced.png")
        x("mousemove", str(box.x() + 12), str(box.y() + 8), "click", "1")
        shot("closed.png")
        x("mousemove", *map(str, centre(dialog.size_box)), "click", "1")
        x("key", "Down", "Return")
        shot("quick_look.png")
        print("run folder:", dialog.out.text(), "height:", dialog.frameGeometry().height())
        app.quit()

    threading.Thread(target=script, daemon=True).start()
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
