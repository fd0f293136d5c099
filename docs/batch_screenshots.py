"""Screenshots of the batch dialog and of the Jobs panel following a real ``regionpaint batch`` job.

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python docs/batch_screenshots.py

Renders generated Cityscapes-named street maps with the bundled SPADE demo checkpoint. Writes
``docs/batch_dialog.png`` and ``docs/batch_jobs.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from regionpaint.app.qt.dialogs.batch import BatchDialog  # noqa: E402
from regionpaint.app.qt.panels.jobs import JobsPanel  # noqa: E402
from tests.test_batch_cli import SPADE, write_street_maps  # noqa: E402


def wait(app: QApplication, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        app.processEvents()
        time.sleep(0.05)


def main() -> int:
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="regionpaint-batch-shots-"))
    write_street_maps(work / "cityscapes", 24, city="aachen")
    write_street_maps(work / "cityscapes", 16, city="bremen", seed=1)
    # A broken file: the job reports it and goes on.
    (work / "cityscapes" / "gtFine" / "val" / "aachen" / "aachen_000000_000000_gtFine_labelIds.png").write_bytes(b"x")

    dialog = BatchDialog(None, checkpoint=SPADE)
    dialog.labels.setText(str(work / "cityscapes"))
    dialog.style_mode.setCurrentIndex(dialog.style_mode.findData("random"))
    dialog.seed.setValue(7)
    dialog.device.setCurrentText("cpu")
    dialog.show()
    dialog.resize(620, dialog.sizeHint().height())
    wait(app, lambda: dialog.start_button.isEnabled(), 30)
    app.processEvents()
    dialog.grab().save(str(DOCS / "batch_dialog.png"))

    panel = JobsPanel()
    panel.setWindowTitle("Jobs")
    panel.resize(520, 300)
    panel.show()
    job = panel.start_job(dialog.command() + ["--batch-size", "2"], dialog.output_folder())
    wait(app, lambda: job.progress.step >= 12 and job.progress.it_s is not None, 300)
    panel.poll()
    app.processEvents()
    panel.grab().save(str(DOCS / "batch_jobs.png"))
    job.stop()
    job.wait(120)
    for name in ("batch_dialog.png", "batch_jobs.png"):
        print(DOCS / name, (DOCS / name).stat().st_size // 1024, "KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
