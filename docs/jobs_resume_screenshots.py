"""Screenshot of the jobs panel following a real training job through Stop and Resume.

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python docs/jobs_resume_screenshots.py

A tiny SPADE run on a generated dataset logs its losses every 5 steps; the bar moves at every step. Writes
``docs/training_jobs_stop_resume.png``: left, the card just after Stop (the step the run reached and its
checkpoint's step, no ETA); right, the same card after Resume, its loss curve starting at step 1 (read
from the run folder) and going on past the stop.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from regionpaint.app.qt.panels.jobs import JobsPanel  # noqa: E402
from regionpaint.app.training.jobs import JobState  # noqa: E402
from regionpaint.engines.training.synthetic import write_dataset  # noqa: E402

STOP_AT, MORE = 18, 12  # steps before Stop, and after Resume


def wait(app: QApplication, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        app.processEvents()
        time.sleep(0.05)
    if not condition():
        raise TimeoutError("gave up waiting")


def main() -> int:
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="regionpaint-shots-"))
    data = write_dataset(work / "data", "flat", count=4, size=(64, 64), label_nc=6)
    run = work / "runs" / "shapes_spade"
    argv = ["train", "--engine", "spade", "--data", str(data), "--out", str(run), "--device", "cpu"]
    argv += ["--steps", "60", "--crop-size", "64", "--batch-size", "2", "--ngf", "8", "--ndf", "8"]
    argv += ["--log-every", "5", "--sample-every", "5", "--save-every", "1000"]
    env = {**os.environ, "TORCH_HOME": str(work / "torch_home"), "OMP_NUM_THREADS": "1"}  # no VGG weights
    panel = JobsPanel(env=env)
    panel.setWindowTitle("Training jobs")
    panel.resize(520, 620)
    panel.show()
    job = panel.start_job(argv, run)
    card = panel.cards[0]
    wait(app, lambda: job.progress.step >= STOP_AT, 600)
    card.stop_button.click()
    wait(app, lambda: job.state is JobState.STOPPED and job.exited and not panel.timer.isActive(), 120)
    app.processEvents()
    shots = [panel.grab()]
    card.resume_button.click()
    resumed = card.job
    wait(app, lambda: resumed.progress.step >= job.progress.step + MORE, 600)
    panel.poll()
    app.processEvents()
    shots.append(panel.grab())
    resumed.stop()
    resumed.wait(60)
    paths = []
    for index, shot in enumerate(shots):
        paths.append(work / f"shot{index}.png")
        shot.save(str(paths[-1]))
    images = [Image.open(path).convert("RGB") for path in paths]
    sheet = Image.new("RGB", (sum(i.width for i in images) + 16, max(i.height for i in images)), "white")
    sheet.paste(images[0], (0, 0))
    sheet.paste(images[1], (images[0].width + 16, 0))
    out = DOCS / "training_jobs_stop_resume.png"
    sheet.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    print(out, out.stat().st_size // 1024, "KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
