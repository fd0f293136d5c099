"""Screenshots of the bundled demo (before and after an edit) for the README, under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_demo_screenshots.py

Face: the demo as shipped (a photo being edited: unedited, the result is the photo itself), then the hair
region styled by source B, composited onto the photo.
Street: the SPADE demo as shipped, then a patch of road repainted as a car.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "docs")]

from make_screenshots import shoot  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)
from regionpaint.app.model import edits, open_project  # noqa: E402
from regionpaint.app.model.labelsets import CELEBAMASK_HQ, CITYSCAPES  # noqa: E402

DOCS = REPO / "docs"
DEMO = REPO / "assets" / "demo"
HAIR, CAR = 13, 26


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    application = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as scratch:
        face = open_project(DEMO / "faces.rpaint")
        shoot(face, DOCS / "demo-face-before.png", Path(scratch), select=[HAIR])
        face = open_project(DEMO / "faces.rpaint")
        edits.assign_style(face, CELEBAMASK_HQ, (("B", 1.0),), [HAIR])
        shoot(face, DOCS / "demo-face-hair-b.png", Path(scratch), select=[HAIR])
        street = open_project(DEMO / "streets.rpaint")
        shoot(street, DOCS / "demo-street-before.png", Path(scratch))
        street = open_project(DEMO / "streets.rpaint")
        height, width = street.label.shape
        corners = [
            (int(width * x), int(height * y)) for x, y in ((0.36, 0.80), (0.54, 0.80), (0.54, 0.95), (0.36, 0.95))
        ]
        edits.fill_polygon(street, CITYSCAPES, corners, CAR)
        shoot(street, DOCS / "demo-street-car.png", Path(scratch))
    application.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
