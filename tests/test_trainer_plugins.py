"""Trainers register through the plugin hooks: a plugin's tiny engine is trained and rendered by the CLI.

The plugin (tests/plugin_fixtures/tiny_trainable_engine.py) brings its own networks and one option of its
own (``tiny_width``); it reaches a ``regionpaint`` subprocess the way an installed plugin does, through an
entry point in the ``regionpaint`` group (a ``*.dist-info`` folder on ``PYTHONPATH``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint import hookimpl
from regionpaint.engines.training.contract import EngineTrainer
from regionpaint.engines.training.synthetic import write_dataset
from regionpaint.plugins.manager import PluginManager
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "plugin_fixtures"


@pytest.fixture
def plugin_env(tmp_path):
    """An environment in which the tiny engine is an installed plugin named ``tiny``."""
    site = tmp_path / "site"
    info = site / "tiny_trainable_engine-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-trainable-engine\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[regionpaint]\ntiny = tiny_trainable_engine\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(FIXTURES), str(REPO)])
    env["REGIONPAINT_LOAD_PLUGINS"] = "tiny"
    return env


def cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_a_plugin_engine_is_trained_and_rendered_through_the_cli(plugin_env, tmp_path):
    help_text = cli(plugin_env, "train", "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert "--tiny_width" in help_text.stdout and "test-engine" in help_text.stdout
    assert "width of the tiny generator" in help_text.stdout

    data = write_dataset(tmp_path / "data", "flat", count=4, size=(32, 32), label_nc=5)
    run = tmp_path / "run"
    trained = cli(
        plugin_env,
        "train",
        "--engine",
        "test-engine",
        "--data",
        str(data),
        "--out",
        str(run),
        "--steps",
        "2",
        "--tiny-width",
        "6",
        "--batch-size",
        "2",
        "--device",
        "cpu",
        "--json",
        "--log-every",
        "1",
        "--no_vgg_loss",
    )
    assert trained.returncode == 0, trained.stderr
    events = [json.loads(line) for line in trained.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e["event"] in ("start", "done")] == ["start", "done"]
    assert [e["step"] for e in events if e["event"] == "step"] == [1, 2]
    assert events[0]["engine"] == "test-engine" and events[0]["options"]["tiny_width"] == 6
    weights = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert weights["0.weight"].shape[0] == 6  # the plugin's own option shaped its own network

    label_path = data / "train_label" / "sample_0000.png"
    rendered = cli(
        plugin_env,
        "render",
        "--checkpoint",
        str(run),
        "--label",
        str(label_path),
        "--out",
        str(tmp_path / "o.png"),
        "--device",
        "cpu",
    )
    assert rendered.returncode == 0, rendered.stderr
    image = np.asarray(Image.open(tmp_path / "o.png"))
    label = np.asarray(Image.open(label_path)).astype(np.int64)
    # The trained generator, run here by hand on the same label, gives the same picture.
    net = torch.nn.Sequential(
        torch.nn.Conv2d(5, 6, 3, padding=1),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(6, 3, 3, padding=1),
        torch.nn.Tanh(),
    )
    net.load_state_dict(weights)
    onehot = torch.nn.functional.one_hot(torch.from_numpy(label).clamp(0, 4), 5).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        expected = ((net(onehot)[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
    assert image.shape == expected.shape
    assert np.abs(image.astype(int) - expected.astype(int)).max() <= 1


class _Trainer(EngineTrainer):
    engine = "twice"


class _First:
    @hookimpl
    def register_trainers(self, register):
        register(_Trainer)


class _Second:
    @hookimpl
    def register_trainers(self, register):
        register(_Trainer)


class _Broken:
    @hookimpl
    def register_trainers(self, register):
        register(object)


def test_trainer_clashes_and_bad_registrations_are_recorded_per_plugin():
    manager = PluginManager(
        load_entry_points=False, extra_plugins=[("first", _First()), ("second", _Second()), ("broken", _Broken())]
    )
    assert manager.trainers()["twice"].plugin == "first"
    assert {"spade", "sean", "pix2pixhd"} <= set(manager.trainers())
    errors = dict(manager.errors)
    assert "'first'" in errors["second"] and "'second'" in errors["second"]
    assert "EngineTrainer subclass" in errors["broken"]
    assert manager.plugins["first"].trainers == ["twice"]
