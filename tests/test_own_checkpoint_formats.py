"""Engines that bring their own checkpoint format (``Engine.locate``), and sidecars without an ``engine`` field.

The plugin is real: ``tests/plugin_fixtures/clade_lite.py`` (engine ``clade-lite``, plugin ``clade``, package
``regionpaint-clade``), whose checkpoint is a folder with ``config.json`` and ``model.pt``: no
``*_net_G.pth``, no ``.safetensors``, no sidecar. The command-line tests run it as an installed plugin in a
real ``regionpaint`` process (a ``*.dist-info`` entry point on ``PYTHONPATH``); the rules of who claims what
are tested in-process on a plugin manager holding the same module.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import CheckpointError, RenderRequest
from regionpaint.plugins.manager import PluginManager
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "plugin_fixtures"
DEMO_MODELS = REPO / "assets" / "demo" / "models"
sys.path.insert(0, str(FIXTURES))
import clade_lite  # noqa: E402  (the fixture plugin's module, from its folder)


def make_checkpoint(folder: Path, label_nc: int = 19, width: int = 6, seed: int = 0):
    """A clade-lite checkpoint folder in the plugin's own layout; returns the network it holds."""
    torch.manual_seed(seed)
    net = clade_lite.build_network(label_nc, width).eval()
    folder.mkdir(parents=True)
    torch.save(net.state_dict(), folder / "model.pt")
    config = {"format": "clade-lite", "label_nc": label_nc, "width": width, "weights": "model.pt"}
    (folder / "config.json").write_text(json.dumps(config))
    return net


def expected_image(net, label: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = net(torch.from_numpy(label.astype(np.int64))[None])
    return ((out[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)


def face_label(path: Path) -> np.ndarray:
    """Background, a skin oval and hair (CelebAMask-HQ ids 0, 1, 13), saved as an index PNG."""
    label = np.zeros((40, 48), np.uint8)
    yy, xx = np.mgrid[0:40, 0:48]
    label[((xx - 24) / 16) ** 2 + ((yy - 20) / 16) ** 2 <= 1] = 1
    label[:10, 12:36] = 13
    Image.fromarray(label).save(path)
    return label


@pytest.fixture
def cli_env(tmp_path):
    """Environment in which the fixture is the installed plugin ``clade`` of the package ``regionpaint-clade``."""
    site = tmp_path / "site"
    info = site / "regionpaint_clade-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regionpaint-clade\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[regionpaint]\nclade = clade_lite\n")
    env = {k: v for k, v in os.environ.items() if k != "CLADE_LITE_BROKEN"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(FIXTURES), str(REPO)]),
        REGIONPAINT_LOAD_PLUGINS="clade",
        REGIONPAINT_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def cli(env, *args, timeout: int = 300):
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("regionpaint: error:")]


@pytest.mark.slow
def test_a_folder_in_the_plugins_own_layout_renders_recognised_and_named(cli_env, tmp_path):
    net = make_checkpoint(tmp_path / "clade")
    label = face_label(tmp_path / "label.png")
    for how in ([], ["--engine", "clade-lite"]):
        out = tmp_path / f"out{len(how)}.png"
        args = ["render", "--checkpoint", str(tmp_path / "clade"), *how, "--label", str(tmp_path / "label.png")]
        result = cli(cli_env, *args, "--out", str(out))
        assert result.returncode == 0, result.stderr
        # Its own weights, run by hand on the same label: the same picture (PNG is lossless; same CPU kernels).
        assert np.array_equal(np.asarray(Image.open(out)), expected_image(net, label)), how


@pytest.mark.slow
def test_the_plugins_own_missing_file_message_reaches_the_user(cli_env, tmp_path):
    make_checkpoint(tmp_path / "clade")
    (tmp_path / "clade" / "model.pt").unlink()
    face_label(tmp_path / "label.png")
    for how in ([], ["--engine", "clade-lite"]):
        args = ["render", "--checkpoint", str(tmp_path / "clade"), *how, "--label", str(tmp_path / "label.png")]
        result = cli(cli_env, *args, "--out", str(tmp_path / "out.png"))
        assert result.returncode == 2, result.stderr
        assert error_lines(result) == [
            f"regionpaint: error: {tmp_path / 'clade'}: no model.pt (the clade-lite weights its config.json names); "
            "copy the trained weights into the folder"
        ], how
        assert "Traceback" not in result.stderr and "*_net_G.pth" not in result.stderr


@pytest.mark.slow
def test_the_hosts_safety_checks_apply_to_the_files_a_plugin_claims(cli_env, tmp_path):
    face_label(tmp_path / "label.png")
    make_checkpoint(tmp_path / "pickled")
    # Weights with a Python object beside the tensors: the host's reader never unpickles it.
    state = torch.load(tmp_path / "pickled" / "model.pt", weights_only=True)
    torch.save({**state, "extra": argparse.Namespace(run="anything")}, tmp_path / "pickled" / "model.pt")
    result = cli(
        cli_env,
        "render",
        "--checkpoint",
        str(tmp_path / "pickled"),
        "--label",
        str(tmp_path / "label.png"),
        "--out",
        str(tmp_path / "out.png"),
    )
    assert result.returncode == 2 and len(error_lines(result)) == 1, result.stderr
    assert "holds Python objects beyond tensors (it refers to argparse.Namespace), so it is not read" in result.stderr

    # A FIFO named model.pt: refused by name before the plugin's load could block on it.
    make_checkpoint(tmp_path / "fifo")
    (tmp_path / "fifo" / "model.pt").unlink()
    os.mkfifo(tmp_path / "fifo" / "model.pt")
    result = cli(
        cli_env,
        "render",
        "--checkpoint",
        str(tmp_path / "fifo"),
        "--label",
        str(tmp_path / "label.png"),
        "--out",
        str(tmp_path / "out.png"),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert error_lines(result) == [
        f"regionpaint: error: {tmp_path / 'fifo' / 'model.pt'}: is a named pipe (FIFO), not a file regionpaint can read"
    ]


@pytest.mark.slow
def test_a_plugin_whose_locate_exits_is_contained(cli_env, tmp_path):
    cli_env["CLADE_LITE_BROKEN"] = "1"  # also registers clade-broken, whose locate calls sys.exit(3)
    make_checkpoint(tmp_path / "clade")
    face_label(tmp_path / "label.png")
    common = ["--checkpoint", str(tmp_path / "clade"), "--label", str(tmp_path / "label.png")]
    recognised = cli(cli_env, "render", *common, "--out", str(tmp_path / "a.png"))
    assert recognised.returncode == 0, recognised.stderr  # the broken engine is skipped, the other claims it
    named = cli(cli_env, "render", *common, "--engine", "clade-broken", "--out", str(tmp_path / "b.png"))
    assert named.returncode == 2
    assert error_lines(named) == [
        f"regionpaint: error: {tmp_path / 'clade'}: engine 'clade-broken' (plugin 'clade', package regionpaint-clade "
        "0.1.0) failed while looking at this checkpoint (called sys.exit(3); regionpaint kept running)"
    ]


# -- the rules, in-process --------------------------------------------------------------------------------
@pytest.fixture
def manager():
    return PluginManager(load_entry_points=False, extra_plugins=[("clade", clade_lite)])


def test_the_engine_that_claims_a_folder_is_chosen_before_the_generic_rules(manager, tmp_path):
    make_checkpoint(tmp_path / "clade")
    engine_class, info = manager.resolve_checkpoint(tmp_path / "clade")
    assert engine_class is clade_lite.CladeLiteEngine and info.declared_engine == "clade-lite"
    assert info.files == {"G": tmp_path / "clade" / "model.pt", "config": tmp_path / "clade" / "config.json"}
    assert info.opt == {"label_nc": "19", "width": "6"}
    # Built-in checkpoints are still the generic rules' (the plugin returns None for them).
    engine_class, _ = manager.resolve_checkpoint(DEMO_MODELS / "pix2pixhd_streets.safetensors")
    assert engine_class.id == "pix2pixhd"


def test_a_named_engine_whose_layout_does_not_fit_says_both(manager, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError) as raised:
        manager.resolve_checkpoint(tmp_path / "empty", "clade-lite")
    assert str(raised.value) == (
        f"{tmp_path / 'empty'}: no *_net_G.pth or *.safetensors file in this folder; "
        "nor is it in the 'clade-lite' engine's own layout"
    )
    with pytest.raises(CheckpointError) as raised:  # nothing there at all: nothing to say about layouts
        manager.resolve_checkpoint(tmp_path / "nothing", "clade-lite")
    assert str(raised.value) == f"{tmp_path / 'nothing'}: no such checkpoint file or folder"


def test_two_engines_claiming_one_folder_ask_for_engine(tmp_path):
    class Twin(clade_lite.CladeLiteEngine):
        id = "clade-twin"

    class Registers:
        @clade_lite.regionpaint.hookimpl
        def register_engines(self, register):
            register(Twin)

    manager = PluginManager(load_entry_points=False, extra_plugins=[("clade", clade_lite), ("twin", Registers())])
    make_checkpoint(tmp_path / "clade")
    with pytest.raises(CheckpointError, match=r"several engines claim .* \(clade-lite, clade-twin\); pass --engine"):
        manager.resolve_checkpoint(tmp_path / "clade")
    assert manager.resolve_checkpoint(tmp_path / "clade", "clade-twin")[0] is Twin


def test_a_claimed_folder_renders_through_the_render_service(manager, tmp_path):
    from regionpaint.app.render.service import RenderJob, RenderService

    net = make_checkpoint(tmp_path / "clade")
    label = face_label(tmp_path / "label.png")
    service = RenderService(manager)
    outcome = service.render(RenderJob(request=RenderRequest(label=label), checkpoint=str(tmp_path / "clade")))
    assert outcome.engine_id == "clade-lite"
    assert np.array_equal(outcome.result.image, expected_image(net, label))


def test_a_sidecar_without_an_engine_field_is_recognised_by_the_engines(tmp_path):
    from regionpaint.app.render.service import RenderJob, RenderService

    for suffix in (".safetensors", ".json"):
        shutil.copy(DEMO_MODELS / f"pix2pixhd_streets{suffix}", tmp_path / f"named{suffix}")
        shutil.copy(DEMO_MODELS / f"pix2pixhd_streets{suffix}", tmp_path / f"anonymous{suffix}")
    sidecar = json.loads((tmp_path / "anonymous.json").read_text())
    del sidecar["engine"]  # docs/plugins.md: the field wins over `recognizes` when present; it is not required
    (tmp_path / "anonymous.json").write_text(json.dumps(sidecar))
    service = RenderService(PluginManager(load_entry_points=False))
    label = np.full((64, 128), 7, np.uint8)  # road, with a car (Cityscapes ids)
    label[30:50, 40:80] = 26
    images = []
    for name in ("named", "anonymous"):
        job = RenderJob(request=RenderRequest(label=label, seed=0), checkpoint=str(tmp_path / f"{name}.safetensors"))
        outcome = service.render(job)
        assert outcome.engine_id == "pix2pixhd"
        images.append(outcome.result.image)
    assert np.array_equal(images[0], images[1])


def test_the_hosts_readers_refuse_what_the_builtin_loader_refuses(tmp_path):
    import regionpaint

    (tmp_path / "deep.json").write_text("[" * 10_000 + "]" * 10_000)
    with pytest.raises(CheckpointError, match="deep.json"):
        regionpaint.read_checkpoint_json(tmp_path / "deep.json")
    torch.save({"w": torch.zeros(2), "run": argparse.Namespace()}, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="beyond tensors"):
        regionpaint.read_state_dict(tmp_path / "model.pt")
    os.mkfifo(tmp_path / "fifo.pt")  # refused by name: reading it would block for ever
    with pytest.raises(CheckpointError, match="named pipe"):
        regionpaint.read_state_dict(tmp_path / "fifo.pt")
