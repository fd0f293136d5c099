"""Where the bundled demo documents live and what they are called (no heavy imports: the editor's menus use it).

``python -m tools.demo.build`` writes them; see ``assets/README.md``.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo"
FACE_DEMO = DEMO_DIR / "faces.rpaint"
DEMO_MODELS_DIR = DEMO_DIR / "models"  # the small checkpoints the demo documents render with
# File name -> menu title, in menu order; the first is what ``regionpaint gui --demo`` opens.
DEMO_TITLES = {
    "faces.rpaint": "Face, two style sources (SEAN)",
    "streets.rpaint": "Street scene (SPADE)",
    "streets_pix2pixhd.rpaint": "Street scene (pix2pixHD)",
}


def bundled_demos(folder: Path = DEMO_DIR) -> list[tuple[str, Path]]:
    """(title, path) of every demo document present in ``folder``, in menu order."""
    return [(title, folder / name) for name, title in DEMO_TITLES.items() if (folder / name).is_file()]
