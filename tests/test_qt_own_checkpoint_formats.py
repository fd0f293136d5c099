"""The editor with an engine that brings its own checkpoint format: the Engine panel's checkpoint picker lists a
folder in the plugin's layout (``config.json`` + ``model.pt``) and the editor renders with it.

The plugin is ``tests/plugin_fixtures/clade_lite.py``, seen by the editor as the installed plugin ``clade``
(a ``*.dist-info`` entry point on ``sys.path``), as in tests/test_own_checkpoint_formats.py.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from regionpaint.app.model import edits
from regionpaint.app.qt.dialogs import manage_plugins
from regionpaint.plugins.manager import LOAD_PLUGINS_ENV, get_plugin_manager, reload_plugin_manager
from tests.qt_support import face_document, make_window, no_leaked_threads  # noqa: F401
from tests.test_own_checkpoint_formats import FIXTURES, expected_image, make_checkpoint
from tests.test_plugins import make_distribution
from tests.test_qt_render import wait_for_render

pytestmark = pytest.mark.slow


@pytest.fixture
def clade_installed(tmp_path, monkeypatch):
    """The fixture plugin as an installed plugin of this process, the registry reloaded; undone after."""
    site = tmp_path / "site"
    make_distribution(site, "regionpaint-clade", "0.1.0", {"clade": "clade_lite"}, {})
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    monkeypatch.setenv("REGIONPAINT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(manage_plugins, "_errors_shown", True)  # load-error notices are tested elsewhere
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.syspath_prepend(str(site))
    assert "clade-lite" in reload_plugin_manager().engines()
    yield
    monkeypatch.undo()
    get_plugin_manager.cache_clear()
    assert "clade" not in get_plugin_manager().plugins, sys.path[:3]


def test_the_engine_panel_lists_and_renders_a_checkpoint_in_a_plugins_own_layout(qtbot, tmp_path, clade_installed):
    models = tmp_path / "my-models"
    net = make_checkpoint(models / "clade")
    doc = face_document()
    edits.set_engine_settings(doc, device="cpu")
    doc.history.clear()
    window = make_window(qtbot, tmp_path, doc)
    choices = window.engine_panel.choices
    choices.settings.add_checkpoint_path(models)  # what "Add checkpoint folder…" does with a folder of them
    choices.rescan()
    index = choices.checkpoint.findData(str(models / "clade"))
    assert index >= 0, "the picker does not list the plugin's checkpoint folder"
    assert choices.checkpoint.itemText(index) == "clade"
    choices.checkpoint.setCurrentIndex(index)
    choices.checkpoint.activated.emit(index)
    wait_for_render(qtbot, window)
    assert window.document.engine.checkpoint == str(models / "clade")
    assert window.state.engine_id() == "clade-lite"  # recognised: the engine claimed the folder
    assert choices.recognised.text() == "Recognised: CLADE lite"
    assert np.array_equal(window.document.last_render.image, expected_image(net, doc.label))
