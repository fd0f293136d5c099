"""Slider drag -> result on screen: the face demo's hair A↔B slider dragged through many values (issue 28, bug 9).

Part of the start-up bench (``python -m bench --only editor_startup``, which adds these columns to each tree's row).
A child process opens the face demo in the real editor (``QT_QPA_PLATFORM=offscreen``), selects the hair with a
90 % A + 10 % B mix, then drags the region's A↔B slider the way the mouse does (``setSliderDown`` emits
sliderPressed / sliderReleased, as a press on the handle does) through 43 values, one every ``STEP_MS`` with a
``PAUSE_MS`` pause every ``PAUSE_EVERY`` values (a person drags, looks, drags on; a pause longer than the 200 ms
debounce used to start a render, and its exact follow-up, in the middle of the drag), and reads when each render
reached the screen (``RenderController.renderFinished``):

* ``slider_shown_in_drag``: renders shown while the slider was held (0: nothing until the drag ended);
* ``slider_in_drag_s``: the median time from a value to its result on screen, over the renders shown mid-drag;
* ``slider_release_to_final_s``: from the release (the last value) to the last value's first result on screen;
* ``slider_release_to_exact_s``: to its exact render (the one that stays).

The same script runs on a baseline tree (it drives the slider, not an API of this tree).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_TIMEOUT_S = 300
STEP_MS = 40  # a value every 40 ms while the mouse moves
PAUSE_EVERY, PAUSE_MS = 8, 400  # and a pause of 400 ms every 8 values: a person drags, looks, drags on

CHILD = r"""
import json, statistics, sys, tempfile, time
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
import regionpaint.app.qt  # noqa: F401  (the PySide6 work-around first)
from regionpaint.app.model import edits
from regionpaint.app.qt.main_window import MainWindow
from regionpaint.app.qt.settings import EditorSettings

HAIR, STEP_MS, PAUSE_EVERY, PAUSE_MS = 13, int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
scratch = Path(tempfile.mkdtemp(prefix="regionpaint-slider-"))
settings = EditorSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
window = MainWindow(settings=settings, data_folder=scratch / "data", autosave=False, remember_window=False)
window.ask_unsaved = lambda *_: "discard"
window.resize(1400, 900)
window.show()
controller = window.render_controller


def pump(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


def settle(timeout=240):
    end = time.perf_counter() + timeout
    pump(0.05)
    while (controller.busy or controller.scheduled) and time.perf_counter() < end:
        pump(0.02)


window.files.open_project(Path(sys.argv[1]) / "assets" / "demo" / "faces.rpaint", ask=False)
settle()
window.regions_panel.select_regions([HAIR])
window.state.label_edit(edits.assign_style, (("A", 0.9), ("B", 0.1)), [HAIR])
settle()
slider = window.regions_panel.region_mix.slider
set_at = []  # (when, value) of every value set
shown = []  # (when, value the render was made for, fast)


def value_at(when):
    # A job is built from the document as it is then: the value set last before it (exact follow-ups keep it).
    earlier = [value for at, value in set_at if at <= when]
    return earlier[-1] if earlier else None


def on_finished(outcome):
    shown.append((time.perf_counter(), value_at(outcome.job.created), bool(outcome.job.request.fast)))


controller.renderFinished.connect(on_finished)
slider.setSliderDown(True)
for step, value in enumerate(range(10, 96, 2), start=1):
    set_at.append((time.perf_counter(), value))
    slider.setValue(value)
    pump(STEP_MS / 1000)
    if step % PAUSE_EVERY == 0:  # the hand slows down and looks
        pump(PAUSE_MS / 1000)
released = time.perf_counter()
final = slider.value()
slider.setSliderDown(False)
settle()
set_when = {value: at for at, value in set_at}
in_drag = [when - set_when[value] for when, value, _fast in shown if when < released and value in set_when]
final_shown = [when for when, value, _fast in shown if when >= released and value == final]
last = shown[-1] if shown else None
print(json.dumps({
    "shown_in_drag": len(in_drag),
    "in_drag_s": statistics.median(in_drag) if in_drag else None,
    "release_to_final_s": (final_shown[0] - released) if final_shown else None,
    "release_to_exact_s": (last[0] - released) if last is not None and not last[2] else None,
}))
window.shutdown()
window.close()
"""


def measure(tree: Path, scratch: Path) -> dict[str, Any]:
    """One drag in a fresh editor process on ``tree``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(tree), "REGIONPAINT_LOAD_PLUGINS": ""}
    env["REGIONPAINT_DATA_DIR"] = str(scratch / "slider-data")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(STEP_MS), str(PAUSE_EVERY), str(PAUSE_MS)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{tree}: the slider drag failed (exit {done.returncode}): {done.stderr[-800:]}")
    return json.loads(lines[-1])


def summarise(drags: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the drags of one tree (a drag that showed nothing mid-drag counts as 0 shown)."""

    def median(key: str) -> float | None:
        values = [drag[key] for drag in drags if drag.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "slider_shown_in_drag": median("shown_in_drag"),
        "slider_in_drag_s": median("in_drag_s"),
        "slider_release_to_final_s": median("release_to_final_s"),
        "slider_release_to_exact_s": median("release_to_exact_s"),
    }
