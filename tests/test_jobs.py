"""The Qt-free job runner: a real ``regionpaint train --json`` subprocess, its events, stop and resume."""

from __future__ import annotations

import os
import time

import pytest

from regionpaint.app.training.jobs import JobState, TrainingJob, with_json, with_resume
from regionpaint.engines.training.synthetic import write_dataset

TIMEOUT = 120


def wait_for(job: TrainingJob, condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.poll()
        if condition():
            return
        if job.state.finished:
            break
        time.sleep(0.05)
    job.kill()
    raise AssertionError(f"job did not get there: state {job.state}, log {list(job.log_tail)[-5:]}")


def tiny_argv(data, run, steps=1000):
    argv = ["train", "--engine", "spade", "--data", str(data), "--out", str(run), "--device", "cpu"]
    argv += ["--steps", str(steps), "--crop-size", "32", "--batch-size", "2", "--ngf", "4", "--ndf", "4"]
    return argv + ["--log-every", "1"]


@pytest.fixture
def env(tmp_path):
    """No VGG weights (an empty hub cache) and one thread per job (two processes share two cores)."""
    return {**os.environ, "TORCH_HOME": str(tmp_path / "torch_home"), "OMP_NUM_THREADS": "1"}


def test_argv_helpers():
    assert with_json(["train"]) == ["train", "--json"] and with_json(["train", "--json"]) == ["train", "--json"]
    assert with_resume(["train", "--json"]) == ["train", "--json", "--resume"]


def test_job_events_stop_and_resume_from_a_real_process(tmp_path, env):
    data = write_dataset(tmp_path / "data", "flat", count=2, size=(32, 32), label_nc=4)
    run = tmp_path / "run"
    job = TrainingJob(tiny_argv(data, run), run, env=env).start()
    wait_for(job, lambda: job.progress.step >= 2)
    assert job.state is JobState.RUNNING and job.progress.engine == "spade"
    assert job.progress.total_steps == 1000 and job.progress.losses and job.progress.latest_sample.is_file()
    assert job.progress.warnings and "VGG" in job.progress.warnings[0]
    job.stop()
    assert job.wait(TIMEOUT) == 0
    assert job.state is JobState.STOPPED
    kinds = [e["event"] for e in job.events]
    assert kinds[0] == "start" and kinds[-1] == "stopped"
    stop_checkpoint = [e for e in job.events if e["event"] == "checkpoint"][-1]
    assert stop_checkpoint["reason"] == "stop" and job.checkpoint == run
    stopped_at = job.events[-1]["step"]

    resumed = job.resume()
    assert resumed.argv[-1] == "--resume"
    resumed.start()
    wait_for(resumed, lambda: resumed.progress.step > stopped_at)
    start = resumed.events[0]
    assert start["event"] == "start" and start["start_step"] == stopped_at and start["resumed"]
    first_step = next(e for e in resumed.events if e["event"] == "step")
    assert first_step["step"] == stopped_at + 1
    resumed.stop()
    assert resumed.wait(TIMEOUT) == 0 and resumed.state is JobState.STOPPED


def test_a_failing_job_reports_its_error(tmp_path, env):
    run = tmp_path / "run"
    job = TrainingJob(tiny_argv(tmp_path / "missing", run), run, env=env).start()
    assert job.wait(TIMEOUT) == 2
    assert job.state is JobState.FAILED
    assert "missing: dataset folder not found" in job.progress.error


def test_progress_moves_every_step_and_a_stopped_job_shows_its_checkpoint_step(tmp_path, env):
    """Issue 28, bug 3: progress moved only at logged steps (it sat at 1 / 40 for minutes), and a stopped job
    still showed its last logged step and an ETA while the checkpoint was further on. Resuming kept no curve."""
    data = write_dataset(tmp_path / "data", "flat", count=2, size=(32, 32), label_nc=4)
    run = tmp_path / "run"
    argv = tiny_argv(data, run)[:-2] + ["--log-every", "1000", "--save-every", "3"]  # logs step 1 only
    job = TrainingJob(argv, run, env=env).start()
    wait_for(job, lambda: any(e["event"] == "checkpoint" for e in job.events))  # step 3 is done
    assert job.progress.step >= 3, f"progress stuck at the last logged step: {job.progress.step}"
    job.stop()
    assert job.wait(TIMEOUT) == 0 and job.state is JobState.STOPPED
    stopped_at = job.events[-1]["step"]
    assert job.progress.step == stopped_at == job.progress.latest_checkpoint_step
    assert job.progress.eta_s is None, "no time left to estimate once stopped"
    logged = [step for step, _ in job.progress.history]
    assert logged == [1]

    resumed = job.resume()
    assert [step for step, _ in resumed.progress.history] == logged, "the run's curve, read from the run folder"
    assert resumed.progress.step == stopped_at
    resumed.start()
    wait_for(resumed, lambda: resumed.progress.step > stopped_at)
    assert [step for step, _ in resumed.progress.history] == logged
    resumed.stop()
    assert resumed.wait(TIMEOUT) == 0
