"""Issue 28 (the second walkthrough), bugs 1, 2, 5 and 9, driven with real X input (xdotool) under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_walkthrough_screenshots.py [--out DIR] [--json]

1. Label search: Ctrl+F, ``car``, Enter, then R picks the rectangle tool (the keys are shortcuts again); Esc
   leaves the field.
5. Selection: a rectangle of "car" drawn with the rectangle tool, zoomed out, Ctrl-clicked: its outline is on
   the screen on all four sides; the result view and the wipe are not dimmed by the selection; Esc clears it.
2. Batch dialog: ``/`` typed first into "Label maps" raises nothing; the scan summary is not clipped; the
   checkpoint is the Engine panel's picker (demo models listed), chosen with the keyboard.
9. Dragging the A↔B slider of the hair: the newest value renders while the slider is held (one in flight, not
   one per value, no exact render mid-drag), and what stays on screen is the exact render of the last value.

The script reads the window's state and the real X screen (ImageMagick ``import``) to check what happened,
and writes screenshots to ``--out`` (default: docs/). tests/test_editor_xvfb.py runs it and asserts the checks.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))
# The first script's real-input helpers (xdotool, waiting, screenshots); it sets up the import path too.
import make_editor_screenshots as base  # noqa: E402
from make_editor_screenshots import (  # noqa: E402
    REPO,
    canvas_point,
    click,
    move_to,
    screen_pos,
    wait,
    wait_for_render,
    wait_until,
    xdo,
)
from PySide6.QtCore import QPoint, QTimer  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QApplication,
    QFileDialog,
    QLabel,
    QMessageBox,
    QStyle,
    QStyleOptionSlider,
)

log = logging.getLogger("make_walkthrough_screenshots")
HAIR, CAR, ROAD = 13, 26, 7
OUTLINE_RGB = (255, 214, 0)  # app/qt/canvas/region_highlight.py OUTLINE
SLOT_ERRORS: list[str] = []  # exceptions raised in Qt slots (PySide prints them and goes on)


def record_slot_errors() -> None:
    def hook(kind, value, tb) -> None:
        SLOT_ERRORS.append("".join(traceback.format_exception_only(kind, value)).strip())
        sys.__excepthook__(kind, value, tb)

    sys.excepthook = hook


def grab_screen(scratch: Path) -> np.ndarray:
    """The real X screen as (H, W, 3) uint8."""
    from PIL import Image

    path = scratch / "screen.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    return np.asarray(Image.open(path).convert("RGB"))


def global_of(window, x: float, y: float) -> tuple[int, int]:
    point = window.canvas.viewport().mapToGlobal(canvas_point(window, x, y))
    return point.x(), point.y()


# -- bug 1 -------------------------------------------------------------------------------------------------
def label_search(window, checks: dict) -> None:
    palette = window.palette_panel
    move_to(window.canvas.viewport())
    xdo("key", "ctrl+f", settle_ms=300)
    checks["search_focused"] = QApplication.focusWidget() is palette.search
    xdo("type", "--delay", "60", "car", settle_ms=200)
    xdo("key", "Return", settle_ms=300)
    xdo("key", "r", settle_ms=300)
    checks["search_text_after_enter_r"] = palette.search.text()
    checks["search_label"] = window.state.current_label
    checks["search_tool_after_r"] = window.tools.active.id
    checks["search_list_shown"] = len(palette.visible_ids())
    checks["focus_after_enter"] = type(QApplication.focusWidget()).__name__
    # Esc leaves the field (and gives the search up): B is the brush again, not a letter.
    xdo("key", "ctrl+f", settle_ms=300)
    xdo("type", "--delay", "60", "veg", settle_ms=200)
    xdo("key", "Escape", settle_ms=300)
    xdo("key", "b", settle_ms=300)
    checks["search_text_after_esc_b"] = palette.search.text()
    checks["search_tool_after_esc_b"] = window.tools.active.id
    xdo("key", "r", settle_ms=200)  # the rectangle again, for the selection walkthrough
    # Set-up for what follows, whatever the search did: the car label, the rectangle tool, keys to the canvas.
    window.state.set_current_label(CAR)
    window.tools.set_tool("rectangle")
    window.canvas.setFocus()


# -- bug 5 -------------------------------------------------------------------------------------------------
def edge_coverage(screen: np.ndarray, window, rect: tuple[int, int, int, int]) -> dict[str, float]:
    """For each side of the document rectangle ``rect`` (x0, y0, x1, y1; x1, y1 exclusive), the share of its
    screen pixels along the middle 80 % that have outline yellow within 2 screen pixels across the edge."""
    x0, y0, x1, y1 = rect
    yellow = (
        (np.abs(screen[..., 0].astype(int) - OUTLINE_RGB[0]) < 40)
        & (np.abs(screen[..., 1].astype(int) - OUTLINE_RGB[1]) < 40)
        & (screen[..., 2] < 90)
    )
    sides = {}
    for name, (a, b, fixed, horizontal) in {
        "top": (x0, x1, y0, True),
        "bottom": (x0, x1, y1, True),
        "left": (y0, y1, x0, False),
        "right": (y0, y1, x1, False),
    }.items():
        span = b - a
        hits = []
        for t in np.linspace(a + 0.1 * span, b - 0.1 * span, 40):
            gx, gy = global_of(window, t, fixed) if horizontal else global_of(window, fixed, t)
            if horizontal:
                band = yellow[max(0, gy - 3) : gy + 4, gx]
            else:
                band = yellow[gy, max(0, gx - 3) : gx + 4]
            hits.append(bool(band.any()))
        sides[name] = round(float(np.mean(hits)), 3)
    return sides


def result_brightness(screen: np.ndarray, window) -> float:
    """Median grey level of the screen where the canvas shows the result (the wipe: the whole document)."""
    canvas = window.canvas
    width, height = window.document.size
    offset = canvas._result_offset if canvas.view_mode == "side_by_side" else QPoint(0, 0)
    x0, y0 = global_of(window, offset.x() + 0.1 * width, offset.y() + 0.1 * height)
    x1, y1 = global_of(window, offset.x() + 0.9 * width, offset.y() + 0.9 * height)
    return float(np.median(screen[y0:y1, x0:x1].mean(axis=2)))


def selection(window, out: Path, scratch: Path, checks: dict) -> None:
    canvas, doc = window.canvas, window.document
    width, height = doc.size
    rect = (40, 200, 200, 245)  # on the road, left of the scene's cars: every side borders another class
    checks["rect_on_road"] = bool((doc.label[rect[1] : rect[3], rect[0] : rect[2]] == ROAD).mean() > 0.8)
    xdo("key", "ctrl+1", settle_ms=300)
    # Drag the rectangle with the rectangle tool (chosen with R after the search).
    move_to(canvas.viewport(), canvas_point(window, rect[0] + 0.5, rect[1] + 0.5))
    xdo("mousedown", 1)
    move_to(canvas.viewport(), canvas_point(window, (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2))
    move_to(canvas.viewport(), canvas_point(window, rect[2] - 0.5, rect[3] - 0.5))
    xdo("mouseup", 1, settle_ms=300)
    painted = doc.label[rect[1] : rect[3], rect[0] : rect[2]]
    checks["rect_painted_car"] = bool((painted == CAR).all())
    checks["rect_step"] = doc.history.entries[-1:] if doc.history.entries else []
    wait_for_render(window)
    # Zoomed out (keys), so that one image pixel is less than one screen pixel.
    move_to(canvas.viewport(), canvas_point(window, width / 2, height / 2))
    for _ in range(6):
        xdo("key", "minus", settle_ms=150)
    checks["zoom_out"] = round(canvas.zoom, 3)
    # Ctrl-click inside the rectangle: the car class is selected.
    move_to(canvas.viewport(), canvas_point(window, (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2))
    xdo("keydown", "ctrl")
    xdo("click", 1)
    xdo("keyup", "ctrl", settle_ms=500)
    checks["selected"] = window.regions_panel.selected_regions()
    checks["rect_outline_on_screen"] = edge_coverage(grab_screen(scratch), window, rect)
    # The result pane and the wipe with the selection, then (after Esc) without it: never dimmed.
    lit = {}
    for mode_key, mode in (("ctrl+2", "result"), ("ctrl+4", "wipe"), ("ctrl+3", "side_by_side")):
        xdo("key", mode_key, settle_ms=500)
        lit[mode] = result_brightness(grab_screen(scratch), window)
        if mode == "result":
            base.screenshot(window, out / "editor-selection-result.png")
    move_to(canvas.viewport())  # focus stays on the canvas (Esc goes to it)
    xdo("key", "Escape", settle_ms=400)
    checks["selected_after_esc"] = window.regions_panel.selected_regions()
    checks["highlight_after_esc"] = canvas.highlight.active
    window.regions_panel.select_regions([])  # whatever Esc did: the views without a selection, to compare
    plain = {}
    for mode_key, mode in (("ctrl+3", "side_by_side"), ("ctrl+4", "wipe"), ("ctrl+2", "result")):
        xdo("key", mode_key, settle_ms=500)
        plain[mode] = result_brightness(grab_screen(scratch), window)
    checks["brightness_selected"] = lit
    checks["brightness_plain"] = plain
    # The screenshot for the docs: labels view, fitted, the car class selected with Ctrl-click.
    xdo("key", "ctrl+1", settle_ms=300)
    xdo("key", "ctrl+0", settle_ms=300)
    move_to(canvas.viewport(), canvas_point(window, (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2))
    xdo("keydown", "ctrl")
    xdo("click", 1)
    xdo("keyup", "ctrl", settle_ms=500)
    base.screenshot(window, out / "editor-selection.png")
    xdo("key", "Escape", settle_ms=300)


# -- bug 2 -------------------------------------------------------------------------------------------------
def summary_fits(label) -> list[str]:
    """What of the label's shown text does not fit in it (empty: all of it is visible)."""
    shown = QLabel.text(label)  # what is drawn (the batch summary's text() is the whole text)
    metrics, room = label.fontMetrics(), label.contentsRect()
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        return [] if needed <= label.height() else [f"{needed} px of wrapped text in {label.height()} px"]
    problems = [line for line in shown.splitlines() if metrics.horizontalAdvance(line) > room.width()]
    if len(shown.splitlines()) * metrics.lineSpacing() > room.height():
        problems.append(f"{len(shown.splitlines())} lines in {room.height()} px")
    return problems


def batch_dialog(window, out: Path, scratch: Path, checks: dict) -> None:
    from regionpaint.app.qt.dialogs.batch import BatchDialog
    from regionpaint.app.qt.settings import models_dir

    fixture = REPO.parent / "shared" / "fixtures" / "cityscapes" / "train_label"
    labels = scratch / "city"
    labels.mkdir()
    for path in sorted(fixture.glob("*_gtFine_labelIds.png"))[:3]:
        (labels / path.name).write_bytes(path.read_bytes())
    # Shown, not exec()'d: the script goes on driving it (the editor opens it from Render › Batch).
    try:
        dialog = BatchDialog(window, "", window.settings, models_dir(window.data_folder))
    except TypeError:  # before issue 28: no checkpoint picker to give the settings to
        dialog = BatchDialog(window, "")
    dialog.move(150, 100)
    dialog.show()
    wait(400)
    xdo("windowfocus", "--sync", int(dialog.winId()))
    errors_before = len(SLOT_ERRORS)
    click(dialog.labels)
    xdo("type", "--delay", "40", "/", settle_ms=400)
    checks["batch_slash_errors"] = SLOT_ERRORS[errors_before:]
    xdo("type", "--delay", "20", str(labels)[1:], settle_ms=300)
    checks["batch_labels_typed"] = dialog.labels.text() == str(labels)
    wait_until(lambda: "label maps" in dialog.status.text() or "not found" in dialog.status.text(), 20)
    wait(300)
    status = dialog.status
    checks["batch_summary"] = status.text()
    checks["batch_summary_fits"] = summary_fits(status)
    checks["batch_summary_overlaps_next_row"] = status.geometry().bottom() >= dialog.out.parentWidget().geometry().top()
    checks["batch_out"] = dialog.out.text()
    picker = dialog.checkpoint
    checks["batch_picker"] = type(picker).__name__
    if not hasattr(picker, "count"):  # a bare path field
        checks["batch_picker_items"] = []
        dialog.reject()
        return
    listed = [picker.itemText(i) for i in range(picker.count())]
    checks["batch_picker_items"] = listed
    # Choose the SPADE street demo model with the keyboard, as a person would.
    # The arrow keys skip separators and the heading, so walk down one key at a time and look.
    target = next((i for i in range(picker.count()) if picker.itemText(i) == "spade_streets"), -1)
    for _attempt in range(3):
        if picker.currentIndex() == target or target < 0:
            break
        click(picker)
        wait(500)
        for _ in range(picker.count()):
            row = picker.view().currentIndex().row()
            if row >= target:
                break
            xdo("key", "Down", settle_ms=80)
        xdo("key", "Return" if picker.view().currentIndex().row() == target else "Escape", settle_ms=400)
    checks["batch_checkpoint"] = picker.path()
    checks["batch_start_enabled"] = dialog.start_button.isEnabled()
    command = dialog.command()
    checks["batch_command_checkpoint"] = command[command.index("--checkpoint") + 1]
    base.screenshot(dialog, out / "editor-batch-dialog.png")
    dialog.reject()
    wait(200)


# -- bug 9 -------------------------------------------------------------------------------------------------
def direct_render(window) -> np.ndarray:
    """The exact render of the document as it is now, on this thread (the editor's render path, no queue)."""
    from regionpaint.app.qt.workers.render_worker import EditorRenderJob, render_steps
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.photo_edit import photo_edit_from_document

    doc = window.document
    job = job_from_document(doc, needs_checkpoint=window.state.engine_needs_checkpoint())
    job.request = dataclasses.replace(job.request, fast=False, compile=False)
    ticket = EditorRenderJob(0, window.state.document_serial, job, photo_edit=photo_edit_from_document(doc))
    steps = render_steps(ticket)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value.image


def slider_drag(window, checks: dict) -> None:
    from regionpaint.app.model import edits

    window.files.open_project(REPO / "assets" / "demo" / "faces.rpaint", ask=False)
    wait_for_render(window)
    face, panel, controller = window.document, window.regions_panel, window.render_controller
    panel.select_regions([HAIR])
    # Set-up, not under test: the hair blends sources A and B, 10 % B.
    window.state.label_edit(edits.assign_style, (("A", 0.9), ("B", 0.1)), [HAIR])
    wait_for_render(window)
    slider = panel.region_mix.slider
    checks["slider_enabled"] = slider.isEnabled()
    values: list[int] = []
    slider.valueChanged.connect(values.append)
    # (a new request, not an exact follow-up of a preview or a timing trial; slider held) of every render started
    started: list[tuple[bool, bool]] = []
    start = controller._start  # wrapped to see each render start, previews and exact follow-ups alike

    def watched(job, announce: bool = True) -> None:
        started.append((announce, slider.isSliderDown()))
        start(job, announce)

    controller._start = watched
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    style = slider.style()
    handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider)
    groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, slider)
    x0, y = screen_pos(slider, handle.center())
    x1, _ = screen_pos(slider, QPoint(groove.left() + round(groove.width() * 0.9), handle.center().y()))
    moves = 60
    chain = ["mousemove", x0, y, "mousedown", 1, "sleep", 0.1]
    for step in range(1, moves + 1):  # a quick steady drag, 10 ms a move: quicker than a render of the demo
        chain += ["mousemove", x0 + (x1 - x0) * step // moves, y, "sleep", 0.01]
    chain += ["mouseup", 1]  # no pause before the release: the old debounce (200 ms) would fire while held
    dragging = subprocess.Popen(["xdotool", *map(str, chain)])
    wait_until(lambda: dragging.poll() is not None, 60)
    wait(300)
    wait_for_render(window)
    controller._start = start
    checks["slider_values"] = len(set(values))
    checks["slider_final"] = slider.value()
    checks["renders_while_held"] = sum(1 for _new, held in started if held)
    checks["follow_ups_while_held"] = sum(1 for new, held in started if held and not new)
    checks["renders_after_release"] = [("request" if new else "follow-up") for new, held in started if not held]
    checks["hair_mix"] = [list(pair) for pair in face.style_of_region(HAIR)]
    checks["undo_steps_of_drag"] = face.history.entries[-1:]
    shown = face.last_render.image
    final = direct_render(window)
    window.state.label_edit(edits.assign_style, (("A", 0.9), ("B", 0.1)), [HAIR])  # the drag's first value
    first = direct_render(window)
    window.state.undo()
    wait_for_render(window)
    checks["shown_vs_final"] = float(np.abs(shown.astype(int) - final.astype(int)).max())
    checks["first_vs_final"] = float(np.abs(first.astype(int) - final.astype(int)).mean())


def close_stray_dialogs(found: list[str]) -> QTimer:
    """A file dialog or message box opened by mistake would wait for a person forever: close it, note it."""

    def sweep() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, (QFileDialog, QMessageBox)) and widget.isVisible():
                found.append(widget.windowTitle())
                widget.reject()

    timer = QTimer()
    timer.timeout.connect(sweep)
    timer.start(1000)
    return timer


def run(out: Path, scratch: Path) -> dict:
    checks: dict = {"stray_dialogs": []}
    sweeper = close_stray_dialogs(checks["stray_dialogs"])  # noqa: F841 (kept alive for the run)
    window = base.make_window(scratch)
    window.files.open_project(REPO / "assets" / "demo" / "streets.rpaint", ask=False)
    wait_for_render(window)
    log.info("bug 1: label search")
    label_search(window, checks)
    log.info("bug 5: selection")
    selection(window, out, scratch, checks)
    if (REPO.parent / "shared" / "fixtures" / "cityscapes" / "train_label").is_dir():
        log.info("bug 2: batch dialog")
        batch_dialog(window, out, scratch, checks)
    log.info("bug 9: slider drag")
    slider_drag(window, checks)
    checks["slot_errors"] = SLOT_ERRORS
    window.shutdown()
    window.close()
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not base.on_real_x_display():
        return 2
    record_slot_errors()
    return base.run_and_report(run, args.out, args.json)


if __name__ == "__main__":
    sys.exit(main())
