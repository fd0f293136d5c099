"""The training dialog and the jobs panel (offscreen): live validation, the command they build, job cards."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("PySide6")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from regionpaint.app.qt.dialogs.train import TrainDialog  # noqa: E402
from regionpaint.app.qt.panels.jobs import JobsPanel, LossPlot, format_duration  # noqa: E402
from regionpaint.app.training.jobs import JobState, TrainingJob  # noqa: E402
from regionpaint.engines.training.flags import add_arguments, given_options  # noqa: E402
from regionpaint.engines.training.options import resolve_options  # noqa: E402
from regionpaint.engines.training.synthetic import write_dataset  # noqa: E402


def parse(argv):
    parser = argparse.ArgumentParser()
    for flag in ("--engine", "--data", "--out", "--device"):
        parser.add_argument(flag)
    add_arguments(parser)
    return parser.parse_args(argv)


def wait_for_report(qtbot, dialog):
    dialog._validate()
    qtbot.waitUntil(lambda: dialog.report is not None and "checking" not in dialog.status.text(), timeout=10000)


def test_dialog_validates_the_folder_and_builds_the_command(qtbot, tmp_path):
    data = write_dataset(tmp_path / "faces", "celebamask-hq", count=3, size=(32, 32), label_nc=19)
    dialog = TrainDialog(None, tmp_path / "run")
    qtbot.addWidget(dialog)
    dialog.engine.setCurrentIndex(dialog.engine.findData("sean"))
    dialog.fields["batchSize"].setValue(3)  # typed before the layout is known: must survive the preset
    dialog.data.setText(str(data))
    wait_for_report(qtbot, dialog)
    assert dialog.fields["batchSize"].value() == 3
    assert dialog.report.ok and dialog.report.layout == "celebamask-hq"
    assert dialog.status.text().startswith("✓ celebamask-hq layout: 3 pairs")
    assert dialog.start_button.isEnabled()
    assert dialog.fields["label_nc"].value() == 19  # the preset shows
    dialog.fields["ngf"].setValue(8)
    dialog.advanced.setChecked(True)
    dialog.fields["style_length"].setValue(16)
    argv = dialog.command()
    assert argv[:3] == ["train", "--engine", "sean"]
    args = parse(argv[1:])
    given = given_options(args)
    assert given == {"batchSize": 3, "ngf": 8, "style_length": 16, "steps": 1000}
    opt = resolve_options("sean", args.data, args.out, given, "celebamask-hq")
    assert (opt.label_nc, opt.no_instance, opt.ngf, opt.crop_size, opt.batchSize) == (19, True, 8, 256, 3)
    assert not dialog.fields["use_vae"].isVisibleTo(dialog)  # SPADE-only option hidden for SEAN


def test_dialog_reports_bad_folders_and_blocks_start(qtbot, tmp_path):
    dialog = TrainDialog(None, tmp_path / "run")
    qtbot.addWidget(dialog)
    dialog.data.setText(str(tmp_path / "missing"))
    wait_for_report(qtbot, dialog)
    assert not dialog.start_button.isEnabled() and "dataset folder not found" in dialog.status.text()
    data = write_dataset(tmp_path / "street", "cityscapes", count=2, size=(64, 32), label_nc=30)
    label = next((data / "gtFine").rglob("*_labelIds.png"))
    ids = np.zeros((32, 64), np.uint8)
    ids[0, 0] = 39
    Image.fromarray(ids).save(label)
    dialog.data.setText(str(data))
    wait_for_report(qtbot, dialog)  # cityscapes preset: label_nc 35, the data has ids up to 39
    assert dialog.report.layout == "cityscapes" and not dialog.start_button.isEnabled()
    assert "out of range" in dialog.status.text()


def fake_job(tmp_path, events):
    job = TrainingJob(["train", "--engine", "spade"], tmp_path / "run")
    for event in events:
        job._queue.put(("event", event))
    return job


def test_jobs_panel_cards_follow_events(qtbot, tmp_path):
    (tmp_path / "run").mkdir()
    sample = tmp_path / "sample.png"
    Image.new("RGB", (96, 32), "red").save(sample)
    events = [
        {"event": "start", "engine": "spade", "total_steps": 10, "start_step": 0},
        {
            "event": "step",
            "step": 2,
            "total_steps": 10,
            "epoch": 1,
            "losses": {"GAN": 1.0, "D_real": 0.5},
            "it_s": 2.0,
            "eta_s": 4.0,
        },
        {
            "event": "step",
            "step": 4,
            "total_steps": 10,
            "epoch": 1,
            "losses": {"GAN": 0.8, "D_real": 0.4},
            "it_s": 2.0,
            "eta_s": 3.0,
        },
        {"event": "sample", "step": 4, "path": str(sample)},
    ]
    panel = JobsPanel()
    qtbot.addWidget(panel)
    card = panel.add_job(fake_job(tmp_path, events))
    panel.poll()
    assert card.job.state is JobState.RUNNING
    assert card.progress.value() == 400 and card.progress.format() == "4 / 10"
    assert "2.00 it/s" in card.speed.text() and "ETA 3s" in card.speed.text()
    assert card.sample.pixmap() is not None and not card.sample.pixmap().isNull()
    assert set(card.plot.series()) == {"GAN", "D_real"} and len(card.plot.series()["GAN"]) == 2
    assert not card.open_button.isEnabled() and card.stop_button.isEnabled()

    (tmp_path / "run" / "latest_net_G.pth").write_bytes(b"x")
    card.job._queue.put(("event", {"event": "done", "step": 10, "checkpoint": str(tmp_path / "run")}))
    with qtbot.waitSignal(panel.job_finished, timeout=2000):
        panel.poll()
    assert card.open_button.isEnabled() and not card.stop_button.isEnabled()
    with qtbot.waitSignal(panel.open_in_editor) as opened:
        qtbot.mouseClick(card.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [str(tmp_path / "run")]


def test_loss_plot_paints_and_durations_read_well(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(300, 140)
    plot.set_history([(i, {"G": 1 / (i + 1), "D": 0.5}) for i in range(500)])
    image = plot.grab().toImage()
    assert image.width() == 300 and not image.isNull()
    assert format_duration(None) == "–" and format_duration(75) == "1m 15s" and format_duration(7300) == "2h 01m"


def test_a_stopped_card_shows_where_the_run_is_and_no_eta(qtbot, tmp_path):
    """Issue 28, bug 3: after Stop the card showed the last logged step ("10 / 40") and an ETA while the
    checkpoint was at step 16. Steps between logged ones move the bar too."""
    (tmp_path / "run").mkdir()
    step = {"event": "step", "total_steps": 40, "epoch": 1, "losses": {"GAN": 1.0}, "it_s": 0.2, "eta_s": 150.0}
    events = [{"event": "start", "engine": "spade", "total_steps": 40, "start_step": 0}, {**step, "step": 10}]
    events += [{"event": "progress", "step": s, "total_steps": 40, "epoch": 1, "it_s": 0.2, "eta_s": 5 * (40 - s)}
               for s in range(11, 17)]  # fmt: skip
    panel = JobsPanel()
    qtbot.addWidget(panel)
    card = panel.add_job(fake_job(tmp_path, events))
    panel.poll()
    assert card.progress.format() == "16 / 40" and card.progress.value() == 400
    assert "ETA 2m 00s" in card.speed.text()
    card.job._queue.put(("event", {"event": "checkpoint", "step": 16, "epoch": 1, "reason": "stop", "files": []}))
    card.job._queue.put(("event", {"event": "stopped", "step": 16, "reason": "SIGINT", "checkpoint": "run"}))
    panel.poll()
    assert card.job.state is JobState.STOPPED
    assert card.progress.format() == "16 / 40"
    assert "ETA" not in card.speed.text() and "checkpoint at step 16" in card.speed.text()


def _loss_log(run, steps):
    with open(run / "loss_log.jsonl", "w", encoding="utf-8") as log:
        for step in steps:
            log.write(json.dumps({"time": 1.0 + step, "step": step, "total_steps": 40, "losses": {"GAN": 1 / step}}))
            log.write("\n")


def test_resume_keeps_the_runs_whole_loss_curve(qtbot, tmp_path):
    """Issue 28, bug 3: Resume wiped the loss plot; the curve is in the run folder (loss_log.jsonl). Steps
    logged after the checkpoint the run resumes from (a killed run) are trained again, so they are dropped."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "latest_net_G.pth").write_bytes(b"x")
    _loss_log(run, range(1, 13))  # logged up to 12; the last checkpoint is at 10
    events = [{"event": "start", "engine": "spade", "total_steps": 40, "start_step": 0}]
    events += [{"event": "step", "step": 12, "total_steps": 40, "epoch": 1, "losses": {"GAN": 0.1}}]
    events += [{"event": "checkpoint", "step": 10, "epoch": 1, "reason": "interval", "files": []}]
    panel = JobsPanel()
    qtbot.addWidget(panel)
    card = panel.add_job(fake_job(tmp_path, events))
    panel.poll()
    resumed = card.job.resume()
    card.set_job(resumed)
    assert [step for step, _ in card.plot.series()["GAN"]] == list(range(1, 13))
    resumed._queue.put(("event", {"event": "start", "engine": "spade", "total_steps": 40, "start_step": 10}))
    resumed._queue.put(("event", {"event": "step", "step": 11, "total_steps": 40, "epoch": 1, "losses": {"GAN": 0.5}}))
    panel.poll()
    assert [step for step, _ in card.plot.series()["GAN"]] == list(range(1, 12))
    assert card.plot.series()["GAN"][-1] == (11, 0.5)
