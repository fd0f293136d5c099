"""A training job that crashes shows how it ended and its last log lines in the Jobs panel: killed by
SIGKILL (what the out-of-memory killer does) mid-run, or a process that dies with a traceback."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from regionpaint.app.qt.panels.jobs import JobsPanel
from regionpaint.app.training.jobs import JobState, TrainingJob
from regionpaint.engines.training.synthetic import write_dataset
from tests.test_jobs import tiny_argv

TIMEOUT = 180
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and shell scripts")


def follow_until_failed(qtbot, panel, job) -> None:
    qtbot.waitUntil(lambda: (panel.poll(), job.state is JobState.FAILED)[1], timeout=30_000)


def test_a_job_killed_mid_run_shows_how_it_ended_and_how_far_it_got(qtbot, tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    write_dataset(data, "flat", count=2, size=(32, 32), label_nc=4)
    panel = JobsPanel()
    panel.env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch_home"), "OMP_NUM_THREADS": "1"}
    qtbot.addWidget(panel)
    job = panel.start_job(tiny_argv(data, run, steps=100000), run)
    deadline = time.monotonic() + TIMEOUT
    while job.progress.step < 2 and time.monotonic() < deadline and not job.state.finished:
        panel.poll()
        qtbot.wait(50)
    assert job.progress.step >= 2, list(job.log_tail)
    os.kill(job.pid, signal.SIGKILL)
    follow_until_failed(qtbot, panel, job)
    card = panel.cards[0]
    text = card.log_view.toPlainText()
    assert not card.log_view.isHidden()
    assert "killed by SIGKILL" in text and "out of memory" in text
    assert '"event": "step"' in text, "without log lines, the last events show how far it got"


def test_a_job_that_dies_with_a_traceback_shows_its_last_log_lines(qtbot, tmp_path):
    crash = tmp_path / "python"  # stands in for the interpreter: prints a traceback and fails
    crash.write_text(
        "#!/bin/sh\n"
        "echo 'regionpaint: step 3' >&2\n"
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo 'RuntimeError: CUDA error: an illegal memory access was encountered' >&2\n"
        "exit 1\n"
    )
    crash.chmod(0o755)
    panel = JobsPanel(python=str(crash))
    qtbot.addWidget(panel)
    job = panel.start_job(["train", "--out", str(tmp_path / "run")], tmp_path / "run")
    follow_until_failed(qtbot, panel, job)
    text = panel.cards[0].log_view.toPlainText()
    assert "exited with code 1" in text
    assert "Last log lines:" in text and text.rstrip().endswith("an illegal memory access was encountered")
    assert not panel.cards[0].resume_button.isEnabled()  # no checkpoint was written
    assert isinstance(job, TrainingJob)
