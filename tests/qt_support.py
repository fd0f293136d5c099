"""Helpers for the editor's Qt tests: small documents, a window factory, mouse drags, a thread-leak guard.

Import the autouse guard into a test module with ``from tests.qt_support import no_leaked_threads  # noqa: F401``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

import regionpaint.app.qt  # noqa: F401  (first: guards against the PySide6 6.12.0 None-refcount bug)
from regionpaint.app.bundled_demo import FACE_DEMO
from regionpaint.app.model import edits
from regionpaint.app.model.document import Document, StyleSourceData, scale_id_map
from regionpaint.app.model.imports import read_label_map, read_photo
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from regionpaint.app.model.project import open_project
from tests.conftest import SHARED

SEAN_REF = SHARED / "refs" / "sean_celebahq"
SEAN_CHECKPOINT = SEAN_REF / "checkpoints" / "sean_celebahq"
SEAN_DATA = SEAN_REF / "datasets" / "CelebA-HQ" / "test"
SPADE_CHECKPOINT = SHARED / "refs" / "spade_cityscapes" / "checkpoints" / "spade_cityscapes"


# The opening of a script run in a fresh interpreter (`python -c`): ``importers`` collects the names of the
# threads that import torch, so a test can check that the UI thread never does.
NOTE_TORCH_IMPORTERS = r"""
import sys, threading
importers = []
class NoteTorchImport:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            importers.append(threading.current_thread().name)
        return None
sys.meta_path.insert(0, NoteTorchImport())
"""


def face_demo_document() -> Document:
    """The bundled SEAN face demo (a photo being edited), rendering on the CPU, with an empty history."""
    if not FACE_DEMO.is_file():
        pytest.skip(f"{FACE_DEMO} is not built (python -m tools.demo.build)")
    doc = open_project(FACE_DEMO)
    edits.set_engine_settings(doc, device="cpu")
    doc.history.clear()
    return doc


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves a render thread or any Python thread running."""
    from regionpaint.app.qt.workers.render_controller import live_pools

    before = set(threading.enumerate())
    yield
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    running = [f"render pool {id(pool):x}" for pool in list(live_pools) if pool.activeThreadCount()]
    extra = [t.name for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not running, f"render threads left running: {running}"
    assert not extra, f"threads left running: {extra}"


def face_document(width: int = 64, height: int = 48) -> Document:
    """A small CelebAMask-HQ document: background, a skin oval, hair on top, a photo of noise."""
    label = np.zeros((height, width), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    label[((xx - width / 2) / (width / 3)) ** 2 + ((yy - height / 2) / (height / 2.5)) ** 2 <= 1] = 1
    label[: height // 4, width // 4 : 3 * width // 4] = 13
    photo = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return Document(label, CELEBAMASK_HQ.id, photo=photo)


def style_source(seed: int, width: int = 64, height: int = 48) -> StyleSourceData:
    label = face_document(width, height).label
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return StyleSourceData(image, label, None, display_name=f"style{seed}.png")


def street_document() -> Document:
    """A small Cityscapes document (sky, building, road, a car) rendered by the SPADE reference checkpoint."""
    if not SPADE_CHECKPOINT.is_dir():
        pytest.skip(f"{SPADE_CHECKPOINT} is not present")
    label = np.full((64, 128), 7, np.uint8)  # road
    label[:20] = 23  # sky
    label[20:36] = 11  # building
    label[40:52, 30:60] = 26  # car
    instance = label.astype(np.int32)
    instance[40:52, 30:60] = 26001
    doc = Document(label, "cityscapes", instance=instance)
    edits.set_engine_settings(doc, checkpoint=str(SPADE_CHECKPOINT), device="cpu")
    doc.history.clear()
    return doc


def sean_document() -> Document:
    """The SEAN reference case as a document: label A (256 px), style sources A and B, the ref checkpoint."""
    if not SEAN_CHECKPOINT.is_dir():
        pytest.skip(f"{SEAN_CHECKPOINT} is not present")
    label = scale_id_map(read_label_map(SEAN_DATA / "labels_A" / "28083.png", CELEBAMASK_HQ), (256, 256))
    doc = Document(label, CELEBAMASK_HQ.id)
    for name, folder in (("A", "A"), ("B", "B")):
        stem = "28083" if name == "A" else "28090"
        image = np.asarray(_resized_photo(SEAN_DATA / f"images_{folder}" / f"{stem}.jpg", 256))
        source_label = scale_id_map(read_label_map(SEAN_DATA / f"labels_{folder}" / f"{stem}.png"), (256, 256))
        edits.add_style_source(doc, name, StyleSourceData(image, source_label, None, f"{stem}.jpg"))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 1.0),))
    edits.set_engine_settings(doc, engine_id="sean", checkpoint=str(SEAN_CHECKPOINT), device="cpu", noise=False)
    doc.history.clear()
    return doc


def _resized_photo(path: Path, size: int):
    from PIL import Image

    return Image.fromarray(read_photo(path)).resize((size, size), Image.Resampling.BICUBIC)


def make_window(qtbot, tmp_path: Path, doc: Document | None = None, **options):
    """A MainWindow with settings and data in ``tmp_path``, closed (discarding changes) after the test."""
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    options.setdefault("autosave", False)
    window = MainWindow(doc, settings=settings, data_folder=tmp_path / "data", **options)
    window.ask_unsaved = lambda *_: "discard"
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    # Window shortcuts fire only in the active window; the offscreen platform activates on request.
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.canvas.setFocus()
    window.canvas.fit()
    return window


def view_pos(canvas, x: float, y: float) -> QPoint:
    """Viewport position of document point (x, y) (Qt convention: pixel x covers [x, x + 1))."""
    return canvas.mapFromScene(QPointF(x, y))


def mouse(canvas, kind: QEvent.Type, pos: QPoint, buttons=Qt.MouseButton.LeftButton) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else buttons
    global_pos = canvas.viewport().mapToGlobal(pos)
    event = QMouseEvent(kind, QPointF(pos), QPointF(global_pos), button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)


def drag(canvas, points: list[tuple[float, float]]) -> None:
    """Press at the first document point, move through the others, release at the last."""
    positions = [view_pos(canvas, x, y) for x, y in points]
    mouse(canvas, QEvent.Type.MouseButtonPress, positions[0])
    for pos in positions[1:]:
        mouse(canvas, QEvent.Type.MouseMove, pos)
    mouse(canvas, QEvent.Type.MouseButtonRelease, positions[-1])


def click(canvas, x: float, y: float) -> None:
    drag(canvas, [(x, y)])
