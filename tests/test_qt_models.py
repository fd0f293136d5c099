"""The editor side of the model manager: the Models dialog downloads with progress and cancel (on a worker,
the UI stays live), the checkpoint picker lists installed models by their names before paths, and
File › New from photo offers the segmenter's weights when there are none."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from regionpaint.app.model_manager.catalog import load_catalog
from regionpaint.app.model_manager.manager import ModelManager
from regionpaint.app.qt.settings import EditorSettings
from tests.model_fixtures import make_test_models, pth_bytes
from tests.model_server import ModelServer
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401


@pytest.fixture
def served(tmp_path, monkeypatch):
    server = ModelServer()
    models = make_test_models(tmp_path, server)
    monkeypatch.setenv("REGIONPAINT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIONPAINT_MODEL_CATALOG", str(models.catalog_path))
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    yield models
    server.close()


def _dialog(qtbot, served, tmp_path):
    from regionpaint.app.qt.dialogs.models import ModelsDialog

    dialog = ModelsDialog(root=tmp_path / "data" / "models")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_dialog_downloads_with_progress_cancels_and_resumes(qtbot, served, tmp_path):
    import torch

    data = pth_bytes({"w": torch.arange(1_500_000, dtype=torch.float32)})  # 6 MB: progress before the stall
    served.server.serve("/files/tiny_seg.pth", data, stall_after=len(data) // 3)
    catalog = served.catalog()
    catalog["entries"][1]["files"][0].update(size=len(data), sha256=None)
    catalog["layouts"]["tiny_seg"] = {"nets": {"weights": [["w", [1_500_000], "float32"]]}}
    served.write_catalog(catalog)
    dialog = _dialog(qtbot, served, tmp_path)
    row = dialog.rows["test-bare"]
    assert row.status.text() == "Not installed" and "6.0 MB" in row.meta.text() and "test-free" in row.meta.text()
    changed = []
    dialog.modelsChanged.connect(lambda: changed.append(True))

    row.download.click()
    qtbot.waitUntil(lambda: row.progress.isVisible() and row.progress.value() > 0, timeout=30000)
    assert row.cancel.isVisible() and not row.download.isVisible()
    assert "tiny_seg.pth" in row.progress.format() and "of 6.0 MB" in row.progress.format()
    row.cancel.click()  # the server is stalled mid-file: Cancel must not wait for it
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=10000)
    assert "stopped" in dialog.message.text() and row.download.isVisible()
    [part] = (tmp_path / "data" / "models" / ".downloads" / "test-bare").glob("tiny_seg.pth.*.part")
    kept = part.stat().st_size
    assert 0 < kept < len(data)

    served.server.files["/files/tiny_seg.pth"].stall_after = None
    row.download.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=30000)
    assert "Installed and verified: Tiny segmenter weights (test)" in dialog.message.text()
    assert row.status.text() == "Installed and verified" and row.remove.isEnabled()
    assert served.server.gets("/files/tiny_seg.pth")[-1]["Range"] == f"bytes={kept}-"
    assert changed
    assert (tmp_path / "data" / "models" / "test-bare" / "tiny_seg.pth").read_bytes() == data


def test_the_dialog_asks_for_a_non_commercial_licence_once_and_adds_a_file(qtbot, served, tmp_path):
    dialog = _dialog(qtbot, served, tmp_path)
    asked = []
    dialog.ask_licence = lambda parent, entry: asked.append(entry.name) or False
    dialog.rows["test-spade-city"].download.click()
    assert asked == ["test-spade-city"] and "licence not accepted" in dialog.message.text()
    assert not served.server.requests and not dialog.busy()
    dialog.ask_licence = lambda parent, entry: asked.append(entry.name) or True
    dialog.rows["test-spade-city"].download.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=60000)
    assert dialog.rows["test-spade-city"].status.text() == "Installed and verified"
    dialog.rows["test-spade-city"].download.click()  # asked once: not again
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=60000)
    assert asked == ["test-spade-city", "test-spade-city"]

    mine = tmp_path / "my_weights.pth"
    mine.write_bytes(served.bare)
    dialog.choose_file = lambda parent: mine
    dialog.rows["test-bare"].add.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=60000)
    assert dialog.rows["test-bare"].status.text() == "Installed and verified"
    dialog.confirm_remove = lambda parent, entry: True
    dialog.rows["test-bare"].remove.click()
    assert dialog.rows["test-bare"].status.text() == "Not installed"


def test_the_picker_lists_installed_models_by_name_before_paths(qtbot, served, tmp_path):
    from tests.factories import make_tiny_checkpoint

    root = tmp_path / "data" / "models"
    make_tiny_checkpoint(root / "aaa_my_own_run", label_nc=35, ngf=4)  # listed by its folder name
    catalog = load_catalog()
    ModelManager(catalog=catalog, root=root).add(served.spade_folder)
    from regionpaint.app.model.document import Document

    doc = Document(np.zeros((32, 64), np.uint8), "cityscapes")
    window = make_window(qtbot, tmp_path, doc)
    picker = window.engine_panel.choices.checkpoint
    window.engine_panel.choices.rescan()
    items = [picker.itemText(i) for i in range(picker.count())]
    assert "Tiny SPADE · Cityscapes (test)" in items and "aaa_my_own_run" in items
    assert items.index("Tiny SPADE · Cityscapes (test)") < items.index("aaa_my_own_run")
    assert not any("downloads" in text for text in items)
    index = items.index("Tiny SPADE · Cityscapes (test)")
    assert picker.itemData(index) == str(root / "test-spade-city")


def test_start_screen_and_file_menu_open_the_models_dialog(qtbot, served, tmp_path):
    window = make_window(qtbot, tmp_path, None)
    window.start_screen.models_button.click()
    dialog = window.models_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.root == window.data_folder / "models"
    assert {"sean-celebahq", "bisenet-face", "test-bare"} <= set(dialog.rows)
    dialog.close()
    window.actions["models"].trigger()
    assert window.models_dialog is dialog and dialog.isVisible()


def test_new_from_photo_offers_the_segmenter_weights_and_points_to_smart_fill(qtbot, served, tmp_path):
    from regionpaint.app.model_manager import store
    from regionpaint.app.qt.dialogs.new_from_photo import NewFromPhotoDialog
    from regionpaint.app.qt.file_actions import label_sets

    photo = tmp_path / "face.png"
    Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(photo)
    settings = EditorSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    dialog = NewFromPhotoDialog(label_sets(), settings)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.choose(photo=photo, segmenter_id="bisenet-face")
    assert dialog.get_weights.isVisible() and "Smart fill" in dialog.offer.text()
    assert "BiSeNet face parsing" in dialog.offer.text()
    opened = []

    def get_models(parent, name):  # stands in for the Models dialog's download
        opened.append(name)
        folder = tmp_path / "data" / "models" / name
        folder.mkdir(parents=True)
        weights = folder / "79999_iter.pth"
        weights.write_bytes(b"weights")
        stat = weights.stat()
        record = store.InstalledFile("weights", stat.st_size, stat.st_mtime_ns, "0" * 64)
        manifest = store.Manifest(name, "t", "segmenter", "bisenet-face", "celebamask-hq", "l", "s", "i", "v")
        manifest.files["79999_iter.pth"] = record
        store.write_manifest(folder, manifest)

    dialog.get_models = get_models
    dialog.get_weights.click()
    assert opened == ["bisenet-face"]
    assert dialog.weights.path == tmp_path / "data" / "models" / "bisenet-face" / "79999_iter.pth"
    assert not dialog.get_weights.isVisible()
    dialog.choose(segmenter_id="")  # an empty map needs no weights: no offer
    assert not dialog.get_weights.isVisible()
