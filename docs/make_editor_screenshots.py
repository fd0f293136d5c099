"""Drive the editor with real X input events (xdotool) under Xvfb, check the issue-17 fixes, take screenshots.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_editor_screenshots.py \\
        [--out DIR] [--evidence DIR] [--json]

Everything a person would do is done with xdotool: mouse moves, clicks, the wheel, keys; the script only
reads the window's state to check what happened, and captures the real X screen (ImageMagick ``import``).
``--out`` (default: docs/) receives the screenshots the docs show, ``--evidence`` the other before/after
ones; ``--json`` prints the checks. tests/test_editor_xvfb.py
runs it with ``--out`` in a temporary folder and asserts the checks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("REGIONPAINT_LOAD_PLUGINS", "")

from PySide6.QtCore import QEventLoop, QPoint, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)

log = logging.getLogger("make_editor_screenshots")
WINDOW = (1500, 940)
SKIN, HAIR, SKY, CAR = 1, 13, 23, 26


# -- real input ----------------------------------------------------------------------------------------
def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def xdo(*args: object, settle_ms: int = 120) -> None:
    """One xdotool command, then let Qt process the X events it caused."""
    subprocess.run(["xdotool", *map(str, args)], check=True)
    wait(settle_ms)


def screen_pos(widget: QWidget, local: QPoint | None = None) -> tuple[int, int]:
    point = widget.mapToGlobal(local if local is not None else widget.rect().center())
    return point.x(), point.y()


def move_to(widget: QWidget, local: QPoint | None = None) -> None:
    xdo("mousemove", *screen_pos(widget, local))


def click(widget: QWidget, local: QPoint | None = None, button: int = 1) -> None:
    move_to(widget, local)
    xdo("click", button)


def canvas_point(window, x: float, y: float) -> QPoint:
    """Viewport position of document point (x, y)."""
    from PySide6.QtCore import QPointF

    return window.canvas.mapFromScene(QPointF(x, y))


#: The screenshots the README and docs/ show; the others (before/after evidence) go to ``--evidence``.
DOC_SHOTS = {
    "editor-start-screen.png",
    "editor-region-highlight.png",
    "editor-wipe.png",
    "editor-style-after.png",
    "editor-jobs.png",
}
MAX_BYTES = 300_000
FOLDERS: dict[str, Path] = {}


def screenshot(window, path: Path) -> None:
    """The real X screen, cropped to the window; docs/ screenshots are reduced to a palette under 300 KB."""
    if path.name not in DOC_SHOTS and "evidence" in FOLDERS:
        path = FOLDERS["evidence"] / path.name
    frame = window.frameGeometry()
    crop = f"{frame.width()}x{frame.height()}+{frame.x()}+{frame.y()}"
    subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", str(path)], check=True)
    if path.stat().st_size > MAX_BYTES:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    log.info("wrote %s (%d KB)", path, path.stat().st_size // 1024)


def wait_until(condition, timeout_s: float = 120) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        wait(100)
    return False


def wait_for_render(window, timeout_s: float = 180) -> bool:
    controller = window.render_controller
    wait(50)
    return wait_until(lambda: not controller.busy and not controller.scheduled, timeout_s)


# -- the scenario --------------------------------------------------------------------------------------
def make_window(scratch: Path):
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, data_folder=scratch / "data", autosave=False, remember_window=False)
    window.ask_unsaved = lambda *_: "discard"
    window.move(0, 0)
    window.resize(*WINDOW)
    window.show()
    wait(300)
    xdo("windowfocus", "--sync", int(window.winId()))
    return window


def run(out: Path, scratch: Path) -> dict:
    checks: dict = {}
    window = make_window(scratch)
    canvas = window.canvas

    # The start screen; the street demo is opened by clicking its button.
    screenshot(window, out / "editor-start-screen.png")
    checks["start_screen_shown"] = window.central_pages.currentWidget() is window.start_screen
    street = next(b for b in window.start_screen.demo_buttons if "Street" in b.text() and "SPADE" in b.text())
    click(street)
    checks["demo_opened"] = window.document is not None and window.document.label_set_id == "cityscapes"
    wait_for_render(window)

    # Bug 1: hover the canvas and zoom with the wheel and '+' before any click.
    move_to(canvas.viewport())
    screenshot(window, out / "editor-zoom-before.png")
    fitted = canvas.zoom
    xdo("click", 4)  # wheel up
    xdo("click", 4, settle_ms=300)
    after_wheel = canvas.zoom
    xdo("key", "plus", settle_ms=300)
    checks["zoom_fitted"] = round(fitted, 4)
    checks["zoom_after_wheel"] = round(after_wheel, 4)
    checks["zoom_after_plus"] = round(canvas.zoom, 4)
    checks["navigator_when_zoomed"] = window.navigator.isVisible()
    screenshot(window, out / "editor-zoomed-navigator.png")
    xdo("key", "z", settle_ms=300)
    checks["zoom_after_z"] = round(canvas.zoom, 4)
    xdo("key", "ctrl+0", settle_ms=300)
    checks["navigator_hidden_when_fitted"] = not window.navigator.isVisible()

    # Region highlight: Ctrl-click a car on the canvas selects it in the table and dims the rest.
    xdo("key", "ctrl+1", settle_ms=300)  # labels over the photo
    doc = window.document
    ys, xs = (doc.label == CAR).nonzero()
    car = (float(xs[len(xs) // 2]) + 0.5, float(ys[len(ys) // 2]) + 0.5)
    move_to(canvas.viewport(), canvas_point(window, *car))
    xdo("keydown", "ctrl")
    xdo("click", 1)
    xdo("keyup", "ctrl", settle_ms=400)
    checks["ctrl_click_selects"] = window.regions_panel.selected_regions()
    checks["highlight_shown"] = canvas.highlight.items[0].isVisible()
    checks["ctrl_click_did_not_paint"] = doc.history.entries == []
    screenshot(window, out / "editor-region-highlight.png")
    window.regions_panel.select_regions([])

    # Alt-click picks the label under the cursor with the rectangle tool active.
    xdo("key", "r")
    sky_y, sky_x = (doc.label == SKY).nonzero()
    move_to(canvas.viewport(), canvas_point(window, float(sky_x[0]) + 0.5, float(sky_y[0]) + 0.5))
    xdo("keydown", "alt")
    xdo("click", 1)
    xdo("keyup", "alt", settle_ms=300)
    checks["alt_click_label"] = window.state.current_label
    checks["alt_click_tool"] = window.tools.active.id
    checks["alt_click_did_not_paint"] = doc.history.entries == []
    xdo("key", "b")

    # The wipe: Ctrl+4, then drag the divider from the middle to a third.
    xdo("key", "ctrl+4", settle_ms=400)
    checks["wipe_mode"] = canvas.view_mode
    width, height = doc.size
    move_to(canvas.viewport(), canvas_point(window, width / 2, height / 2))
    xdo("mousedown", 1)
    for fraction in (0.45, 0.4, 0.35):
        move_to(canvas.viewport(), canvas_point(window, width * fraction, height / 2))
    xdo("mouseup", 1, settle_ms=300)
    checks["wipe_fraction"] = round(canvas.wipe.fraction, 3)
    checks["wipe_drag_did_not_paint"] = doc.history.entries == []
    screenshot(window, out / "editor-wipe.png")

    # Bug 9: the size boxes show the real output size; typing a size is one edit.
    window.side_tabs.setCurrentWidget(window.engine_panel)
    size = window.engine_panel.render_settings
    wait(200)
    # The size lives under "More settings", folded by default (issue 28): unfold it as a person would.
    checks["more_settings_folded"] = not window.engine_panel.advanced.isExpanded()
    click(window.engine_panel.advanced.toggleButton())
    wait(300)
    checks["more_settings_unfolded_by_click"] = window.engine_panel.advanced.isExpanded()
    checks["size_shown"] = [size.width_box.value(), size.height_box.value()]
    checks["rendered"] = None if doc.last_render is None else list(doc.last_render.image.shape[:2])
    screenshot(window, out / "editor-size-real.png")
    click(size.custom_size)
    entries = len(doc.history.entries)
    click(size.width_box.lineEdit())
    xdo("key", "ctrl+a")
    xdo("type", "--delay", "80", "512", settle_ms=100)
    checks["size_edits_while_typing"] = len(doc.history.entries) - entries
    wait(900)
    checks["size_after_typing"] = list(doc.engine.output_size or ())
    checks["size_steps"] = doc.history.entries[entries - 1 :]

    # Bug 10: the checkpoint picker of a new document lists the demo models.
    picker = window.engine_panel.choices.checkpoint
    checks["demo_models_listed"] = [picker.itemText(i) for i in range(picker.count())]
    click(picker)
    wait(400)
    screenshot(window, out / "editor-demo-models.png")
    xdo("key", "Escape")

    # Bug 4: the face demo; select the hair row, pick B as its source in one action.
    window.files.open_project(REPO / "assets" / "demo" / "faces.rpaint", ask=False)
    wait_for_render(window)
    face = window.document
    panel = window.regions_panel
    table = panel.table
    hair_row = next(r for r in range(table.rowCount()) if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == HAIR)
    table.scrollToItem(table.item(hair_row, 0))
    wait(200)
    click(table.viewport(), table.visualItemRect(table.item(hair_row, 0)).center())
    checks["hair_selected"] = panel.selected_regions()
    screenshot(window, out / "editor-style-before.png")
    combo = panel.region_mix.source_a
    # The face demo edits its photo: hair starts as "photo". Open the list with a click and walk to "B" with
    # the arrow keys; under a loaded X server the popup sometimes takes the first key itself, so look and retry.
    for _attempt in range(4):
        steps = combo.findText("B") - combo.currentIndex()
        if steps == 0:
            break
        click(combo)
        wait(600)
        for _ in range(abs(steps)):
            xdo("key", "Down" if steps > 0 else "Up")
        xdo("key", "Return", settle_ms=400)
    wait_for_render(window)
    checks["hair_style"] = [list(pair) for pair in face.style_of_region(HAIR)]
    checks["combo_shows"] = [combo.currentText(), panel.region_mix.source_b.currentText()]
    checks["history"] = face.history.entries
    screenshot(window, out / "editor-style-after.png")

    # Drag style B's thumbnail from the gallery onto the skin on the canvas.
    gallery = window.styles_panel.gallery.list
    skin_y, skin_x = (face.label == SKIN).nonzero()
    skin = (float(skin_x[len(skin_x) // 2]) + 0.5, float(skin_y[len(skin_y) // 2]) + 0.5)
    target = canvas.viewport().mapToGlobal(canvas_point(window, *skin))
    b_item = next(
        gallery.item(i) for i in range(gallery.count()) if gallery.item(i).data(Qt.ItemDataRole.UserRole) == "B"
    )
    start = gallery.viewport().mapToGlobal(gallery.visualItemRect(b_item).center())
    chain = ["mousemove", start.x(), start.y(), "mousedown", 1, "sleep", 0.2]
    for step in range(1, 11):  # a real drag moves in steps
        x = start.x() + (target.x() - start.x()) * step // 10
        y = start.y() + (target.y() - start.y()) * step // 10
        chain += ["mousemove", x, y, "sleep", 0.06]
    chain += ["mouseup", 1]
    # One xdotool process for the whole drag: Qt runs a drag in its own event loop, so the script cannot
    # send the moves one by one from here.
    dragging = subprocess.Popen(["xdotool", *map(str, chain)])
    wait_until(lambda: dragging.poll() is not None, 20)
    wait(400)
    checks["dragged_skin_style"] = [list(pair) for pair in face.style_of_region(SKIN)]
    checks["gallery_kept_items"] = gallery.count()
    wait_for_render(window)

    # Bug 8: a job with a long warning in the Training jobs dock (a stand-in trainer, real process).
    trainer = scratch / "trainer.py"
    trainer.write_text(
        "import json, time\n"
        "print(json.dumps({'event': 'start', 'engine': 'spade', 'total_steps': 1000}), flush=True)\n"
        "print(json.dumps({'event': 'warning', 'message': 'VGG weights are not available offline: the VGG "
        "feature loss is replaced by an L1 photo term (see docs/training.md#options)'}), flush=True)\n"
        "for step in range(1, 30):\n"
        "    print(json.dumps({'event': 'step', 'step': step, 'total_steps': 1000, 'epoch': 1,"
        " 'losses': {'G_GAN': 1 / step, 'D_real': 0.5}, 'it_s': 3.1, 'eta_s': 320}), flush=True)\n"
        "    time.sleep(0.05)\n"
        "time.sleep(60)\n"
    )
    launcher = scratch / "python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{trainer}"\n')
    launcher.chmod(0o755)
    from regionpaint.app.training.jobs import TrainingJob

    job = TrainingJob(["train", "--engine", "spade"], scratch / "run", python=str(launcher)).start()
    window.jobs_panel.add_job(job)
    window.show_jobs()
    wait_until(lambda: job.progress.step >= 29, 20)
    wait(500)
    card = window.jobs_panel.cards[0]
    checks["jobs_no_hscroll"] = not window.jobs_panel.scroll.horizontalScrollBar().isVisible()
    checks["jobs_stop_visible"] = card.stop_button.isVisible() and not card.stop_button.visibleRegion().isEmpty()
    screenshot(window, out / "editor-jobs.png")
    click(card.stop_button)
    wait_until(lambda: job.exited, 60)  # a loaded CI machine: the stop itself is immediate
    wait(600)
    checks["stopped_job_reaped"] = job.exited and not _is_zombie(job.pid)

    # Bug 3: "Open in editor" on a SPADE Cityscapes run while the SEAN face document is open.
    run_folder = scratch / "spade_cityscapes_run"
    done_trainer = scratch / "done_trainer.py"
    done_trainer.write_text(
        "import json, pathlib, sys\n"
        f"run = pathlib.Path({str(run_folder)!r}); run.mkdir(parents=True, exist_ok=True)\n"
        "(run / 'latest_net_G.pth').write_bytes(b'')\n"
        "(run / 'opt.txt').write_text('label_nc: 35\\n')\n"
        "(run / 'train_options.json').write_text(json.dumps({'engine': 'spade', 'label_nc': 35}))\n"
        "print(json.dumps({'event': 'start', 'engine': 'spade', 'total_steps': 2}), flush=True)\n"
        "print(json.dumps({'event': 'done', 'step': 2, 'checkpoint': str(run)}), flush=True)\n"
    )
    done_launcher = scratch / "python_done"
    done_launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{done_trainer}"\n')
    done_launcher.chmod(0o755)
    done_job = TrainingJob(["train", "--engine", "spade"], run_folder, python=str(done_launcher)).start()
    done_card = window.jobs_panel.add_job(done_job)
    wait_until(lambda: done_card.open_button.isEnabled(), 20)
    asked = []
    window.ask_new_document_for_run = lambda _parent, _path, run_set, doc_set: asked.append([run_set, doc_set])
    window.jobs_panel.scroll.ensureWidgetVisible(done_card.open_button)
    wait(200)
    click(done_card.open_button)
    checks["open_in_editor_asked"] = asked
    checks["open_in_editor_kept_document"] = window.document is face and face.engine.engine_id in ("", "sean")

    # Bug 6: the New dialog with a 2048x1024 photo and a 512x512 label map: refused, then cropped.
    fixture = REPO.parent / "shared" / "fixtures" / "cityscapes"
    photo = next(iter(sorted((fixture / "train_img").glob("*.png"))), None)
    if photo is not None:
        from PIL import Image

        from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog
        from regionpaint.app.qt.file_actions import label_sets

        label_name = photo.name.replace("leftImg8bit", "gtFine_labelIds")
        square = scratch / "square_label.png"
        Image.open(fixture / "train_label" / label_name).resize((512, 512), Image.Resampling.NEAREST).save(square)
        dialog = NewDocumentDialog(label_sets(), window)
        dialog.move(200, 200)
        dialog.show()
        wait(300)
        dialog.set_paths(photo, square)
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        click(ok)
        checks["new_refused"] = dialog.error.text()
        screenshot(dialog, out / "editor-new-aspect-refused.png")
        click(dialog.aspect)
        wait(300)
        view = dialog.aspect.view()
        click(view.viewport(), view.visualRect(view.model().index(dialog.aspect.findData("crop"), 0)).center())
        checks["new_error_cleared"] = dialog.error.text() == ""
        click(ok)
        checks["new_cropped_photo"] = None if dialog.document is None else list(dialog.document.photo.shape)

    window.shutdown()
    window.close()
    return checks


def _is_zombie(pid: int | None) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def on_real_x_display() -> bool:
    """Whether real X input can be sent (Xvfb or a desktop); says what to do on standard error when not."""
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb" or not os.environ.get("DISPLAY"):
        print("regionpaint: error: run under Xvfb (xvfb-run -a ...): real X input is needed", file=sys.stderr)
        return False
    return True


def run_and_report(run_checks, out: Path, as_json: bool) -> int:
    """``run_checks(out, scratch)`` in a Qt application with a scratch folder; its checks printed (or as JSON)."""
    application = QApplication.instance() or QApplication(sys.argv[:1])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        checks = run_checks(out, Path(scratch))
    if as_json:
        print(json.dumps(checks))
    else:
        for key, value in checks.items():
            print(f"{key:32} {value}")
    application.quit()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument("--evidence", type=Path, help="folder for the other before/after screenshots (default: --out)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not on_real_x_display():
        return 2
    if args.evidence is not None:
        args.evidence.mkdir(parents=True, exist_ok=True)
        FOLDERS["evidence"] = args.evidence
    return run_and_report(run, args.out, args.json)


if __name__ == "__main__":
    sys.exit(main())
