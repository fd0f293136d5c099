"""The batch dialog (Render menu) and batch jobs in the Jobs panel: the same `regionpaint batch` command."""

from __future__ import annotations

import argparse

import pytest

pytest.importorskip("PySide6")

from regionpaint.app.commands.batch import configure  # noqa: E402
from regionpaint.app.qt.dialogs.batch import BatchDialog  # noqa: E402
from regionpaint.app.qt.panels.jobs import JobsPanel  # noqa: E402
from regionpaint.app.training.jobs import BatchJob, JobState  # noqa: E402
from tests.test_batch_cli import SPADE, records, write_street_maps  # noqa: E402


def parse(argv):
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv[1:])


def test_dialog_scans_the_folder_and_builds_the_batch_command(qtbot, tmp_path):
    write_street_maps(tmp_path / "city", 3)
    dialog = BatchDialog(None, checkpoint=SPADE)
    qtbot.addWidget(dialog)
    assert not dialog.start_button.isEnabled()  # no label folder yet
    dialog.labels.setText(str(tmp_path / "nothing"))
    qtbot.waitUntil(lambda: "not found" in dialog.status.text(), timeout=5000)
    assert not dialog.start_button.isEnabled()
    dialog.labels.setText(str(tmp_path / "city"))
    qtbot.waitUntil(lambda: dialog.status.text().startswith("3 label maps"), timeout=5000)
    assert "(cityscapes layout), 3 with instance maps" in dialog.status.text()
    assert dialog.out.text() == str(tmp_path / "city_rendered")
    assert dialog.start_button.isEnabled()
    dialog.style_mode.setCurrentIndex(dialog.style_mode.findData("from-photos"))
    assert not dialog.start_button.isEnabled()  # from-photos needs the photo folder
    dialog.photos.setText(str(tmp_path / "photos"))
    dialog.seed.setValue(11)
    dialog.batch_size.setValue(4)
    dialog.device.setCurrentText("cpu")
    args = parse(dialog.command())
    assert dialog.command()[0] == "batch"
    assert (args.checkpoint, args.labels, args.out) == (
        str(SPADE),
        str(tmp_path / "city"),
        str(tmp_path / "city_rendered"),
    )
    assert (args.style_mode, args.photos, args.seed, args.batch_size, args.device) == (
        "from-photos",
        str(tmp_path / "photos"),
        11,
        4,
        "cpu",
    )


def test_jobs_panel_runs_a_batch_with_progress_stop_and_continue(qtbot, tmp_path):
    write_street_maps(tmp_path / "city", 10)
    out = tmp_path / "out"
    panel = JobsPanel()
    qtbot.addWidget(panel)
    argv = ["batch", "--checkpoint", str(SPADE), "--labels", str(tmp_path / "city"), "--out", str(out)]
    job = panel.start_job([*argv, "--device", "cpu", "--batch-size", "1"], out)
    assert isinstance(job, BatchJob)
    card = panel.cards[0]
    qtbot.waitUntil(lambda: job.progress.step >= 1, timeout=120000)
    assert "/ 10 images" in card.speed.text() and card.stop_button.isEnabled()
    assert not card.plot.isVisibleTo(card)  # no loss plot for a batch
    card.stop_button.click()
    qtbot.waitUntil(lambda: job.state is JobState.STOPPED, timeout=120000)
    done_before = len(records(out))
    assert 1 <= done_before < 10
    assert card.resume_button.isEnabled() and card.resume_button.text() == "Continue"
    card.resume_button.click()
    qtbot.waitUntil(lambda: card.job.state is JobState.DONE, timeout=180000)
    assert card.job.progress.step == 10 and card.job.progress.start_step == done_before
    assert len(records(out)) == 10
    assert "10 / 10 images" in card.speed.text()
