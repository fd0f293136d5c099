"""Screenshots of photo editing on the face demo (raw render vs composite, feather vs seamless), under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_photo_edit_screenshots.py

The demo opens as a photo being edited; its hair is restyled from source B and rendered once. The editor is
then shot with compositing off (the network's own picture), feather and seamless (recomposited from the
same render, no new one), and with the edit mask shown. ``photo-edit-compare.png`` puts the photo and the
three results side by side at the photo's resolution.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "docs")]

import numpy as np  # noqa: E402
from make_screenshots import WINDOW_SIZE, save_small, wait  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)
from regionpaint.app.model import edits, open_project  # noqa: E402
from regionpaint.app.model.labelsets import CELEBAMASK_HQ  # noqa: E402

log = logging.getLogger("make_photo_edit_screenshots")
DOCS = REPO / "docs"
DEMO = REPO / "assets" / "demo"
HAIR = 13


def grab(window, out: Path, scratch: Path) -> None:
    wait(500)
    raw = scratch / "raw.png"
    window.grab().save(str(raw))
    save_small(raw, out)


def compare_strip(images: dict[str, np.ndarray], out: Path) -> None:
    """The images side by side (each at the photo's size) with a caption above each."""
    height, width = next(iter(images.values())).shape[:2]
    strip = Image.new("RGB", (width * len(images), height + 22), (32, 32, 36))
    draw = ImageDraw.Draw(strip)
    for index, (caption, image) in enumerate(images.items()):
        strip.paste(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC), (index * width, 22))
        draw.text((index * width + 6, 5), caption, fill=(230, 230, 230))
    strip.save(out, optimize=True)
    log.info("%s: %dx%d, %d KB", out.name, strip.width, strip.height, out.stat().st_size // 1000)


def main() -> int:
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    application = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        settings = EditorSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings, data_folder=scratch, autosave=False, remember_window=False)
        window.ask_unsaved = lambda *_: "discard"
        window.resize(*WINDOW_SIZE)
        window.show()
        doc = open_project(DEMO / "faces.rpaint")
        edits.assign_style(doc, CELEBAMASK_HQ, (("B", 1.0),), [HAIR])
        window.set_document(doc)
        window.side_tabs.setCurrentWidget(window.engine_panel)
        window.render_controller.render_now()
        for _ in range(1200):  # at most two minutes
            wait(100)
            if not window.render_controller.busy and doc.last_render is not None:
                break
        raw = doc.last_render.raw
        results = {"photo": doc.photo}
        for mode in ("off", "feather", "seamless"):
            edits.set_composite_settings(doc, mode=mode)
            window.engine_panel.composite_controls.refresh()
            grab(window, DOCS / f"photo-edit-{mode}.png", scratch)
            results[{"off": "raw render (upsampled)", "feather": "feather", "seamless": "seamless"}[mode]] = (
                doc.last_render.image
            )
        assert doc.last_render.raw is raw, "recomposited from the same render"
        window.engine_panel.composite_controls.show_mask.setChecked(True)
        grab(window, DOCS / "photo-edit-mask.png", scratch)
        compare_strip(results, DOCS / "photo-edit-compare.png")
        window.close()
    application.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
