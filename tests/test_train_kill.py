"""Killing a training process at any moment (SIGKILL while it saves every iteration) never corrupts the
latest checkpoint: every file is replaced atomically, so a resumed run and ``render`` always find whole files."""

from __future__ import annotations

import os
import random
import time

import pytest

from regionpaint.app.cli import main as cli_main
from regionpaint.app.training.jobs import TrainingJob, with_resume
from regionpaint.engines.loading.checkpoint import inspect_checkpoint, load_torch_file
from regionpaint.engines.training.checkpoints import RunDir
from regionpaint.engines.training.synthetic import write_dataset
from tests.test_jobs import tiny_argv, wait_for

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def test_sigkill_while_saving_leaves_a_loadable_checkpoint(tmp_path):
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch_home"), "OMP_NUM_THREADS": "1"}
    data = write_dataset(tmp_path / "data", "flat", count=2, size=(32, 32), label_nc=4)
    run = tmp_path / "run"
    argv = tiny_argv(data, run) + ["--save-every", "1", "--sample-every", "1000", "--log-every", "1000"]
    rng = random.Random(0)
    last_step = 0
    for attempt in range(2):
        job = TrainingJob(argv if attempt == 0 else with_resume(argv), run, env=env).start()
        wait_for(job, lambda job=job: sum(e["event"] == "checkpoint" for e in job.events) >= 3)
        time.sleep(rng.uniform(0.0, 0.1))  # land anywhere in the saving that goes on every iteration
        job.kill()
        job.wait(60)
        state = RunDir(run).load_state()  # parseable JSON, written last
        assert state.step >= max(3, last_step)
        last_step = state.step
        for role in "GD":
            assert load_torch_file(RunDir(run).network_file(role))  # complete zip files
        assert RunDir(run).load_optimizers()["optimizer_G"]["state"]
        assert "head_0.conv_0.weight_orig" in inspect_checkpoint(run).shapes
    out = tmp_path / "out.png"
    label, instance = data / "train_label" / "sample_0000.png", data / "train_inst" / "sample_0000.png"
    args = ["render", "--checkpoint", str(run), "--label", str(label), "--instance", str(instance)]
    assert cli_main(args + ["--device", "cpu", "--out", str(out)]) == 0 and out.is_file()
