"""docs/models-dialog.png: the Models dialog mid-download, against a loopback server (no network).

Run under a real display (``xvfb-run -a python -m tools.models.screenshot_dialog``): the built-in catalog plus
the test catalog of ``tests/model_fixtures.py``; one tiny model is installed first, a second one is caught
while its download is stalled a third of the way, with its progress bar and Cancel button showing.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rp-models-shot-"))
    os.environ["REGIONPAINT_DATA_DIR"] = str(tmp / "data")
    sys.path.insert(0, str(REPO))
    import torch

    from tests.model_fixtures import make_test_models, pth_bytes
    from tests.model_server import ModelServer

    server = ModelServer()
    models = make_test_models(tmp, server)
    data = pth_bytes({"w": torch.arange(4_000_000, dtype=torch.float32)})  # 16 MB
    server.serve("/files/tiny_seg.pth", data, stall_after=len(data) // 3)
    catalog = models.catalog()
    catalog["entries"][1]["files"][0].update(size=len(data), sha256=None)
    catalog["layouts"]["tiny_seg"] = {"nets": {"weights": [["w", [4_000_000], "float32"]]}}
    models.write_catalog(catalog)
    os.environ["REGIONPAINT_MODEL_CATALOG"] = str(models.catalog_path)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from regionpaint.app.model_manager.catalog import load_catalog
    from regionpaint.app.model_manager.manager import ModelManager
    from regionpaint.app.qt.dialogs.models import ModelsDialog

    app = QApplication.instance() or QApplication(sys.argv)
    root = tmp / "data" / "models"
    ModelManager(catalog=load_catalog(), root=root).add(models.spade_folder)
    dialog = ModelsDialog(root=root)
    dialog.resize(780, 720)
    dialog.show()
    dialog.download("test-bare")
    out = REPO / "docs" / "models-dialog.png"

    def shoot() -> None:
        row = dialog.rows["test-bare"]
        if not (row.progress.isVisible() and row.progress.value() > 0):
            QTimer.singleShot(200, shoot)
            return
        dialog.focus_entry("test-bare")
        dialog.scroll.verticalScrollBar().setValue(dialog.scroll.verticalScrollBar().maximum())
        app.processEvents()
        dialog.grab().save(str(out))
        print(f"wrote {out}")
        dialog.cancel("test-bare")
        QTimer.singleShot(500, app.quit)

    QTimer.singleShot(500, shoot)
    app.exec()
    server.close()


if __name__ == "__main__":
    main()
