"""Engine controls come from the checkpoint's capabilities and the engine's option schema.

A tiny SPADE-VAE checkpoint offers the "z from" option (``spade_z``, requires latent_z); the same
engine without a VAE does not, and the panel stays hidden. Real renders, no mocks.
"""

from __future__ import annotations

import numpy as np

from regionpaint.app.model import edits
from regionpaint.app.model.document import Document
from regionpaint.engines.base import LATENT_Z
from tests.factories import make_tiny_checkpoint
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401
from tests.test_qt_render import wait_for_render


def spade_document(checkpoint) -> Document:
    label = np.zeros((32, 64), np.uint8)
    label[16:] = 3
    doc = Document(label, "cityscapes", photo=np.full((32, 64, 3), 90, np.uint8))
    edits.set_engine_settings(doc, engine_id="spade", checkpoint=str(checkpoint), device="cpu")
    doc.history.clear()
    return doc


def test_a_vae_checkpoint_shows_its_z_option_and_choosing_it_is_an_edit(qtbot, tmp_path):
    vae = make_tiny_checkpoint(tmp_path / "vae", use_vae=True, crop_size=64, label_nc=5)
    window = make_window(qtbot, tmp_path, spade_document(vae))
    wait_for_render(qtbot, window)
    panel = window.styles_panel.engine_options
    assert LATENT_Z in window.state.capabilities()
    assert not panel.isHidden() and "spade_z" in panel.controls
    combo = panel.controls["spade_z"]
    assert [combo.itemText(i) for i in range(combo.count())] == ["style", "random"]
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    assert window.document.engine.options["spade_z"] == "random"
    assert window.document.history.entries[-1] == "spade_z: default → random", "one undoable step"
    wait_for_render(qtbot, window)  # the option reaches the engine and renders


def test_a_checkpoint_without_a_vae_hides_it(qtbot, tmp_path):
    plain = make_tiny_checkpoint(tmp_path / "plain", crop_size=64, label_nc=5)
    window = make_window(qtbot, tmp_path, spade_document(plain))
    wait_for_render(qtbot, window)
    assert LATENT_Z not in window.state.capabilities(), "per checkpoint, not per engine class"
    assert window.styles_panel.engine_options.isHidden()
