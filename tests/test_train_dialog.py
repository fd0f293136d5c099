"""The Train dialog as a new user meets it (issue 17, bugs 2 and 7): the run folder follows the dataset, the
dialog grows and shrinks with Advanced, values are remembered, CPU-sized presets, a timed estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QDialog  # noqa: E402

from regionpaint.app.qt.dialogs.train import TrainDialog, suggested_run_folder  # noqa: E402
from regionpaint.app.qt.settings import EditorSettings  # noqa: E402
from regionpaint.app.training.estimate import Estimate, seconds_per_step, timing_command  # noqa: E402
from regionpaint.engines.training.synthetic import write_dataset  # noqa: E402

SCREEN_HEIGHT = 1000
TITLE_BAR = 40  # room for a window manager's title bar


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_run_folder_follows_the_dataset_typed_with_a_tilde(qtbot, home):
    dialog = TrainDialog(None)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.data, "~/data/streets")
    assert dialog.out.text() == str(home / "data" / "runs" / "streets_spade")
    dialog.engine.setCurrentIndex(dialog.engine.findData("sean"))
    assert dialog.out.text() == str(home / "data" / "runs" / "streets_sean")  # follows the engine too
    assert dialog.command()[4] == str(home / "data" / "streets")  # the process gets no shell to expand ~

    qtbot.keyClicks(dialog.out, "_mine")  # the user's own run folder is never overwritten
    dialog.data.setText(str(home / "other"))
    assert dialog.out.text() == str(home / "data" / "runs" / "streets_sean_mine")
    dialog.out.selectAll()
    qtbot.keyClick(dialog.out, Qt.Key.Key_Delete)  # clearing it brings the suggestion back
    assert dialog.out.text() == str(home / "runs" / "other_sean")


def test_run_folder_suggestion_is_never_at_the_filesystem_root(home):
    assert suggested_run_folder("/data", "spade") == home / "regionpaint-runs" / "data_spade"
    assert suggested_run_folder("/", "spade") is None and suggested_run_folder("  ", "spade") is None
    taken = home / "d" / "runs" / "x_spade"
    taken.mkdir(parents=True)
    assert suggested_run_folder(str(home / "d" / "x"), "spade") == home / "d" / "runs" / "x_spade_2"


def _height(qtbot, dialog) -> int:
    qtbot.wait(50)
    return dialog.frameGeometry().height()


@pytest.mark.parametrize("engine", ["spade", "sean", "pix2pixhd"])
def test_advanced_grows_the_dialog_within_a_1000px_screen_and_shrinks_back(qtbot, engine):
    dialog = TrainDialog(None)
    qtbot.addWidget(dialog)
    dialog.engine.setCurrentIndex(dialog.engine.findData(engine))
    dialog.show()
    qtbot.waitExposed(dialog)
    closed = _height(qtbot, dialog)
    dialog.advanced.setChecked(True)
    opened = _height(qtbot, dialog)
    assert opened > closed + 100
    assert opened + TITLE_BAR <= SCREEN_HEIGHT
    start = dialog.start_button.mapTo(dialog, dialog.start_button.rect().bottomLeft())
    assert start.y() <= dialog.height()  # "Start training" stays on screen
    dialog.advanced.setChecked(False)
    assert _height(qtbot, dialog) == closed


def test_values_are_remembered_between_jobs(qtbot, tmp_path):
    settings = EditorSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    data = write_dataset(tmp_path / "faces", "celebamask-hq", count=2, size=(32, 32), label_nc=19)
    first = TrainDialog(None, settings=settings)
    qtbot.addWidget(first)
    first.engine.setCurrentIndex(first.engine.findData("sean"))
    first.data.setText(str(data))
    first.fields["ngf"].setValue(8)
    first.advanced.setChecked(True)
    first.fields["style_length"].setValue(16)
    first.length.setValue(300)
    first.device.setCurrentText("cpu")
    first.done(QDialog.DialogCode.Accepted)

    again = TrainDialog(None, settings=settings)
    qtbot.addWidget(again)
    assert again.engine_id == "sean" and again.data.text() == str(data)
    assert again.fields["ngf"].value() == 8 and again.fields["style_length"].value() == 16
    assert again.length.value() == 300 and again.device.currentText() == "cpu" and again.advanced.isChecked()
    cancelled = TrainDialog(None, settings=settings)
    qtbot.addWidget(cancelled)
    cancelled.fields["ngf"].setValue(32)
    cancelled.done(QDialog.DialogCode.Rejected)  # a cancelled dialog changes nothing
    assert TrainDialog(None, settings=settings).fields["ngf"].value() == 8


def test_cpu_quick_look_preset(qtbot, tmp_path):
    dialog = TrainDialog(None, tmp_path / "run")
    qtbot.addWidget(dialog)
    dialog.size_box.setCurrentText("CPU quick look")
    assert (dialog.fields["ngf"].value(), dialog.fields["crop_size"].value()) == (16, 128)
    assert (dialog.length.value(), dialog.length_kind.currentText()) == (500, "steps")
    argv = dialog.command()
    assert argv[argv.index("--ngf") + 1] == "16" and argv[argv.index("--crop-size") + 1] == "128"
    assert argv[argv.index("--steps") + 1] == "500"
    dialog.size_box.setCurrentText("Preset (official sizes)")
    assert (dialog.fields["ngf"].value(), dialog.fields["crop_size"].value(), dialog.length.value()) == (64, 256, 1000)


def test_timing_command_and_rate():
    argv = ["train", "--engine", "spade", "--out", "/r", "--steps", "500", "--ngf", "16", "--resume"]
    timed = timing_command(argv, "/tmp/t", steps=4)
    assert timed[:5] == ["train", "--engine", "spade", "--ngf", "16"] and "/r" not in timed and "--resume" not in timed
    assert timed[timed.index("--steps") + 1] == "4" and timed[timed.index("--out") + 1] == "/tmp/t"
    events = [{"event": "step", "step": s, "time": t} for s, t in ((1, 10.0), (2, 12.0), (3, 13.0), (4, 14.0))]
    assert seconds_per_step(events) == pytest.approx(4.0 / 3) and seconds_per_step(events[:1]) is None
    assert Estimate(2.0, 500).describe() == "≈ 2.00 s/step × 500 steps ≈ 17 min"


def test_estimate_times_a_few_real_steps_in_the_background(qtbot, tmp_path):
    data = write_dataset(tmp_path / "data", "flat", count=2, size=(64, 64), label_nc=4)
    dialog = TrainDialog(None, tmp_path / "run")
    qtbot.addWidget(dialog)
    dialog.data.setText(str(data))
    dialog._validate()
    qtbot.waitUntil(lambda: dialog.report is not None and dialog.estimate_button.isEnabled(), timeout=10000)
    dialog.size_box.setCurrentText("CPU quick look")
    dialog.fields["ngf"].setValue(4)
    dialog.fields["crop_size"].setValue(64)
    dialog.device.setCurrentText("cpu")
    qtbot.mouseClick(dialog.estimate_button, Qt.MouseButton.LeftButton)
    assert "timing" in dialog.estimate_label.text() and not dialog.estimate_button.isEnabled()
    timing_dir = dialog._estimate_dir
    qtbot.waitUntil(lambda: dialog._estimate_job is None, timeout=180000)
    assert "s/step × 500 steps" in dialog.estimate_label.text(), dialog.estimate_label.text()
    assert dialog.estimate.seconds_per_step > 0 and dialog.estimate.total_steps == 500
    assert not Path(timing_dir).exists() and not (tmp_path / "run").exists()  # the real run folder is untouched
    # Issue 28, bug 3: a time per step does not depend on the step count: a new count is a new total at once.
    rate = dialog.estimate.seconds_per_step
    dialog.length.setValue(1000)
    assert "s/step × 1,000 steps" in dialog.estimate_label.text(), dialog.estimate_label.text()
    assert dialog.estimate.total_steps == 1000 and dialog.estimate.seconds_per_step == rate
    dialog.length_kind.setCurrentText("epochs")  # 2 pairs, batch 1: 2 steps an epoch
    assert dialog.estimate.total_steps == 2000 and "× 2,000 steps" in dialog.estimate_label.text()
    dialog.fields["ngf"].setValue(8)
    assert "estimate again" in dialog.estimate_label.text()
    dialog.length.setValue(10)
    assert "estimate again" in dialog.estimate_label.text(), "a stale rate is not applied to a new count"
