"""File > Open demo lists the bundled demo documents, opens them, and never lets Save overwrite them."""

from __future__ import annotations

import numpy as np
import pytest

from regionpaint.app.bundled_demo import DEMO_TITLES, bundled_demos
from regionpaint.app.model import open_project, save_project
from tests.qt_support import face_document, make_window, no_leaked_threads, street_document  # noqa: F401


@pytest.fixture
def demo_dir(tmp_path, monkeypatch):
    """A stand-in for assets/demo holding a face and a street document (the real one may not be built)."""
    folder = tmp_path / "demo"
    folder.mkdir()
    save_project(face_document(), folder / "faces.rpaint")
    save_project(street_document(), folder / "streets.rpaint")
    monkeypatch.setattr("regionpaint.app.qt.file_actions.DEMO_DIR", folder.resolve())
    monkeypatch.setattr("regionpaint.app.qt.file_actions.bundled_demos", lambda: bundled_demos(folder))
    return folder


def test_bundled_demos_are_listed_in_menu_order_and_only_when_present(tmp_path):
    assert bundled_demos(tmp_path) == []
    (tmp_path / "streets.rpaint").write_bytes(b"")
    (tmp_path / "faces.rpaint").write_bytes(b"")
    titles = [title for title, _ in bundled_demos(tmp_path)]
    assert titles == [DEMO_TITLES["faces.rpaint"], DEMO_TITLES["streets.rpaint"]]


def test_open_demo_menu_opens_the_chosen_demo(qtbot, tmp_path, demo_dir):
    window = make_window(qtbot, tmp_path)
    window.demo_menu.aboutToShow.emit()
    actions = {action.text(): action for action in window.demo_menu.actions()}
    assert set(actions) == {DEMO_TITLES["faces.rpaint"], DEMO_TITLES["streets.rpaint"]}
    actions[DEMO_TITLES["streets.rpaint"]].trigger()
    expected = open_project(demo_dir / "streets.rpaint")
    assert window.document is not None and np.array_equal(window.document.label, expected.label)


def test_the_demo_menu_says_how_to_build_a_missing_demo(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("regionpaint.app.qt.file_actions.bundled_demos", lambda: bundled_demos(tmp_path / "nothing"))
    window = make_window(qtbot, tmp_path)
    window.demo_menu.aboutToShow.emit()
    (only,) = window.demo_menu.actions()
    assert "tools.demo.build" in only.text() and not only.isEnabled()


def test_save_on_a_demo_asks_where_and_leaves_the_bundled_file_alone(qtbot, tmp_path, demo_dir, monkeypatch):
    window = make_window(qtbot, tmp_path)
    assert window.open_project(demo_dir / "faces.rpaint")
    shipped = (demo_dir / "faces.rpaint").read_bytes()
    window.document.label[0, 0] = 13  # any change
    asked = []

    def save_dialog(parent, caption, start, filters):
        asked.append(start)
        return str(tmp_path / "mine.rpaint"), filters

    monkeypatch.setattr("regionpaint.app.qt.file_actions.QFileDialog.getSaveFileName", save_dialog)
    assert window.files.save()
    assert asked and not asked[0].startswith(str(demo_dir)), asked
    assert (demo_dir / "faces.rpaint").read_bytes() == shipped
    assert open_project(tmp_path / "mine.rpaint").label[0, 0] == 13
    assert window.state.project_path == tmp_path / "mine.rpaint"
