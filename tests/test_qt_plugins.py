"""Plugins in the editor: the example engine renders with no checkpoint, the Plugins dialog installs and
uninstalls with live pip output (the engine picker follows without a restart), cancels, enables and
disables (the CLI agrees), load errors show once per session, a missing engine names its package."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from regionpaint.app.model import edits
from regionpaint.app.qt.dialogs import manage_plugins
from regionpaint.plugins.manager import LOAD_PLUGINS_ENV, get_plugin_manager, reload_plugin_manager
from regionpaint.plugins.scaffold import create_plugin
from tests.plugin_env import OFFLINE, example_copy, make_plugin_env
from tests.qt_support import face_document, make_window, no_leaked_threads, style_source  # noqa: F401
from tests.test_plugins import TOY_ENGINE, make_distribution
from tests.test_qt_render import wait_for_render

pytestmark = pytest.mark.slow
PIP_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def example_env(tmp_path_factory):
    """A plugin environment with the example plugin installed by `regionpaint plugins install`."""
    env = make_plugin_env(tmp_path_factory.mktemp("qtvenv") / "env")
    result = env.cli("plugins", "install", str(example_copy(tmp_path_factory.mktemp("example"))), *OFFLINE)
    assert result.returncode == 0, result.stdout + result.stderr
    return env


@pytest.fixture
def plugins_from(monkeypatch):
    """Make the editor see the plugins of some folders (as if installed), reloading the registry; undone after."""
    added: list[str] = []

    def use(*folders) -> None:
        monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
        for folder in folders:
            sys.path.insert(0, str(folder))
            added.append(str(folder))
        reload_plugin_manager()

    yield use
    for folder in added:
        sys.path.remove(folder)
    for name in [m for m in sys.modules if m.startswith(("regionpaint_transfer", "regionpaint_flat", "rp_test_"))]:
        del sys.modules[name]
    get_plugin_manager.cache_clear()


@pytest.fixture
def env_data(example_env, monkeypatch):
    monkeypatch.setenv("REGIONPAINT_DATA_DIR", str(example_env.data))
    monkeypatch.setattr(manage_plugins, "_errors_shown", True)  # notices are tested on their own
    return example_env


def _styled_face():
    doc = face_document()
    edits.add_style_source(doc, "A", style_source(1))
    edits.add_style_source(doc, "B", style_source(2))
    doc.history.clear()
    return doc


def _picker_ids(window) -> list[str]:
    picker = window.engine_panel.choices.engine
    return [picker.itemData(i) for i in range(picker.count())]


def _choose_engine(window, engine_id: str) -> None:
    picker = window.engine_panel.choices.engine
    index = picker.findData(engine_id)
    assert index >= 0, f"{engine_id} is not in the engine picker"
    picker.setCurrentIndex(index)
    picker.activated.emit(index)


def test_the_example_engine_renders_in_the_editor_without_a_checkpoint(qtbot, tmp_path, env_data, plugins_from):
    plugins_from(env_data.site_packages)
    window = make_window(qtbot, tmp_path, _styled_face())
    assert "transfer" in _picker_ids(window)
    _choose_engine(window, "transfer")
    wait_for_render(qtbot, window)
    doc = window.document
    assert doc.engine.checkpoint == "" and doc.engine.package == "regionpaint-transfer"
    image = doc.last_render.image
    assert image.shape == (*doc.label.shape, 3) and image.std() > 10  # textured, not blank
    assert not window.engine_panel.choices.checkpoint.isEnabled()  # nothing to choose
    assert window.render_label.text().startswith("Colour and texture transfer · final in ")
    assert "Colour and texture transfer on cpu" in window.render_label.toolTip()


def test_the_plugins_dialog_installs_and_uninstalls_and_the_picker_follows(qtbot, tmp_path, env_data, plugins_from):
    plugins_from(env_data.site_packages)
    folder = create_plugin("regionpaint-flatdialog", tmp_path)
    window = make_window(qtbot, tmp_path, _styled_face())
    dialog = window.show_plugins()
    dialog.python = env_data.python
    dialog.spec.setText(str(folder))
    dialog.offline.setChecked(True)
    with qtbot.waitSignal(dialog.pluginsChanged, timeout=PIP_TIMEOUT_MS):
        dialog.install_button.click()
    output = dialog.output.toPlainText()
    assert "Successfully installed regionpaint-flatdialog-0.1.0" in output  # pip's live output
    assert "flatdialog 0.1.0: loaded; engines: flatdialog" in output
    assert "flatdialog" in [row["name"] for row in dialog.rows()]
    assert "flatdialog" in _picker_ids(window)  # no restart
    _choose_engine(window, "flatdialog")
    wait_for_render(qtbot, window)

    dialog.select("flatdialog")
    with qtbot.waitSignal(dialog.pluginsChanged, timeout=PIP_TIMEOUT_MS):
        dialog.uninstall_button.click()
    assert "Successfully uninstalled regionpaint-flatdialog" in dialog.output.toPlainText()
    assert "flatdialog" not in [row["name"] for row in dialog.rows()]
    assert "flatdialog" not in _picker_ids(window)
    dialog.close()


def test_cancel_stops_a_running_install(qtbot, tmp_path, env_data, plugins_from):
    plugins_from(env_data.site_packages)
    window = make_window(qtbot, tmp_path)
    dialog = window.show_plugins()
    dialog.python = env_data.python
    dialog.spec.setText(str(example_copy(tmp_path)))
    dialog.install_button.click()
    assert dialog.cancel_button.isEnabled() and not dialog.install_button.isEnabled()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=20_000)
    assert "Cancelled." in dialog.output.toPlainText()
    assert dialog.install_button.isEnabled()
    dialog.close()


def test_disabling_in_the_dialog_is_remembered_and_honoured_by_the_cli(qtbot, tmp_path, env_data, plugins_from):
    plugins_from(env_data.site_packages)
    window = make_window(qtbot, tmp_path)
    dialog = window.show_plugins()
    dialog.select("transfer")
    assert dialog.toggle_button.text() == "Disable"
    dialog.toggle_button.click()
    try:
        row = next(r for r in dialog.rows() if r["name"] == "transfer")
        assert row["status"] == "disabled" and "transfer" not in _picker_ids(window)
        listed = json.loads(env_data.cli("engines", "--json").stdout)
        assert "transfer" not in {e["id"] for e in listed}
    finally:
        dialog.select("transfer")
        dialog.toggle_button.click()
    assert "transfer" in _picker_ids(window)
    assert "transfer" in {e["id"] for e in json.loads(env_data.cli("engines", "--json").stdout)}
    dialog.close()


def test_load_errors_show_once_per_session_without_blocking(qtbot, tmp_path, monkeypatch, plugins_from):
    monkeypatch.setenv("REGIONPAINT_DATA_DIR", str(tmp_path / "data"))
    site = tmp_path / "site"
    make_distribution(site, "rp-fail", "0.1", {"failing": "rp_test_failing"}, {"rp_test_failing": "1 / 0\n"})
    plugins_from(site)
    monkeypatch.setattr(manage_plugins, "_errors_shown", False)
    first = make_window(qtbot, tmp_path / "one")
    qtbot.waitUntil(lambda: bool(first.plugin_notice.message), timeout=5000)
    assert "failing" in first.plugin_notice.message and "ZeroDivisionError" in first.plugin_notice.message
    second = make_window(qtbot, tmp_path / "two")
    qtbot.wait(100)
    assert second.plugin_notice.message == ""  # once per session
    dialog = first.show_plugins()
    assert next(r for r in dialog.rows() if r["name"] == "failing")["status"] == "failed"
    dialog.close()


def test_an_engine_crashing_in_generate_is_reported_and_the_editor_lives_on(qtbot, tmp_path, monkeypatch, plugins_from):
    monkeypatch.setenv("REGIONPAINT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(manage_plugins, "_errors_shown", True)
    crashing = TOY_ENGINE.format(engine_id="crashy").replace("raise NotImplementedError", "raise KeyError('oops')")
    crashing = crashing.replace('display_name = "Toy"', 'display_name = "Crashy"\n    needs_checkpoint = False')
    make_distribution(tmp_path / "site", "rp-crashy", "0.1", {"crashy": "rp_test_crashy"}, {"rp_test_crashy": crashing})
    plugins_from(tmp_path / "site")
    window = make_window(qtbot, tmp_path, _styled_face())
    failures = []
    window.render_controller.renderFailed.connect(failures.append)
    _choose_engine(window, "crashy")
    qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
    assert "oops" in window.notice.message
    window.state.undo()  # the engine choice is an edit like any other
    assert window.document.engine.engine_id == ""


def test_opening_a_project_whose_engine_is_missing_names_the_package(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(manage_plugins, "_errors_shown", True)
    doc = face_document()
    edits.set_engine_settings(doc, engine_id="transfer", package="regionpaint-transfer", package_version="0.1.0")
    window = make_window(qtbot, tmp_path, doc)
    assert "`regionpaint plugins install regionpaint-transfer`" in window.notice.message
    assert np.array_equal(window.document.label, doc.label)  # the document is open all the same
    failures = []
    window.render_controller.renderFailed.connect(failures.append)
    edits.set_engine_settings(window.document, checkpoint=str(tmp_path / "some.safetensors"))  # renders now
    qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
    assert "`regionpaint plugins install regionpaint-transfer`" in window.notice.message  # still says what to do


def test_gui_engine_choice_applies_to_the_document_opened_next(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(manage_plugins, "_errors_shown", True)
    window = make_window(qtbot, tmp_path)
    checkpoint = tmp_path / "model.safetensors"
    window.choose_engine("sean", str(checkpoint))  # `regionpaint gui --engine sean --checkpoint …`
    assert window.document is None
    window.set_document(face_document())
    settings = window.document.engine
    assert (settings.engine_id, settings.checkpoint, settings.package) == ("sean", str(checkpoint), "regionpaint")
    window.set_document(face_document())  # only the next document, not every one after
    assert window.document.engine.engine_id == ""


def test_gui_refuses_an_unknown_engine_before_opening_a_window():
    import subprocess

    from tests.plugin_env import REPO

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), LOAD_PLUGINS_ENV: "", "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "gui", "--engine", "nosuch"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2 and "unknown engine 'nosuch'" in result.stderr
