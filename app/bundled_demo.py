"""Where the bundled demo documents live and what they are called (no heavy imports: the editor's menus use it).

``python -m tools.demo.build`` writes them; see ``assets/README.md``.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo"
FACE_DEMO = DEMO_DIR / "faces.rpaint"
DEMO_MODELS_DIR = DEMO_DIR / "models"  # the small checkpoints the demo documents render with
# File name -> menu title, in menu order; the first is what ``regionpaint gui --demo`` opens.
#: The demo models in the order a new document prefers them (the first of its label set wins): the demo
#: documents' order, so a new street scene starts with SPADE like the street demo.
DEMO_MODEL_ORDER = ("sean_faces.safetensors", "spade_streets.safetensors", "pix2pixhd_streets.safetensors")
DEMO_TITLES = {
    "faces.rpaint": "Face, two style sources (SEAN)",
    "streets.rpaint": "Street scene (SPADE)",
    "streets_pix2pixhd.rpaint": "Street scene (pix2pixHD)",
}


def bundled_demos(folder: Path = DEMO_DIR) -> list[tuple[str, Path]]:
    """(title, path) of every demo document present in ``folder``, in menu order."""
    return [(title, folder / name) for name, title in DEMO_TITLES.items() if (folder / name).is_file()]
