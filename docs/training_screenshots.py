"""Screenshots of the training dialog and of the jobs panel following a real training job.

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python docs/training_screenshots.py [DATASET] [--dialog-only]

DATASET defaults to ``../shared/fixtures/cityscapes`` (eight Cityscapes pairs in pix2pixHD's flat layout), or a
generated dataset where that is absent. Writes ``docs/training_dialog.png`` and ``docs/training_jobs.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from regionpaint.app.qt.dialogs.train import TrainDialog  # noqa: E402
from regionpaint.app.qt.panels.jobs import JobsPanel  # noqa: E402
from regionpaint.engines.training.synthetic import write_dataset  # noqa: E402


def wait(app: QApplication, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        app.processEvents()
        time.sleep(0.05)


def main() -> int:
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="regionpaint-shots-"))
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    dataset = Path(paths[0]) if paths else DOCS.parent.parent / "shared" / "fixtures" / "cityscapes"
    if not dataset.is_dir():
        dataset = write_dataset(work / "data", "flat", count=8, size=(256, 128), label_nc=12)

    dialog = TrainDialog(None, work / "runs" / "cityscapes_spade")
    dialog.data.setText(str(dataset))
    dialog.size_box.setCurrentText("CPU quick look")
    dialog.fields["batchSize"].setValue(2)
    dialog.length.setValue(300)
    dialog.device.setCurrentText("cpu")
    dialog.advanced.setChecked(True)
    dialog.fields["sample_every"].setValue(5)
    dialog.fields["ndf"].setValue(16)
    dialog.show()
    wait(app, lambda: dialog.report is not None and dialog.estimate_button.isEnabled(), 30)
    dialog.start_estimate()
    wait(app, lambda: dialog._estimate_job is None, 300)
    app.processEvents()
    dialog.grab().save(str(DOCS / "training_dialog.png"))
    if "--dialog-only" in sys.argv:
        print(DOCS / "training_dialog.png", dialog.estimate_label.text())
        return 0

    argv = dialog.command() + ["--log-every", "1"]
    panel = JobsPanel()
    panel.setWindowTitle("Training jobs")
    panel.resize(520, 620)
    panel.show()
    job = panel.start_job(argv, dialog.run_folder())
    wait(app, lambda: job.progress.step >= 25 and job.progress.latest_sample is not None, 240)
    panel.poll()
    app.processEvents()
    panel.grab().save(str(DOCS / "training_jobs.png"))
    job.stop()
    job.wait(60)
    for name in ("training_dialog.png", "training_jobs.png"):
        print(DOCS / name, (DOCS / name).stat().st_size // 1024, "KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
