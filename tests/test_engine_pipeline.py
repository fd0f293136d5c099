"""The load pipeline every engine shares (engines/loading/pipeline.py, driven by the template in
engines/loading/checkpoint_engine.py) and the base's save()."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

import regionpaint
from regionpaint.engines.base import CheckpointError, RenderRequest, RenderResult
from regionpaint.engines.loading.checkpoint_engine import CheckpointEngine
from regionpaint.plugins.manager import get_plugin_manager
from tests.conftest import REPO
from tests.factories import make_tiny_checkpoint

MODELS = REPO / "assets" / "demo" / "models"


def test_a_saved_copy_renders_the_same_and_a_changed_source_is_refused(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "ck", crop_size=64, label_nc=5)
    engine = get_plugin_manager().engine_class("spade")()
    engine.load(folder, "cpu")
    label = np.zeros((32, 64), np.uint8)
    label[:, 32:] = 3
    before = engine.generate(RenderRequest(label=label)).tensor
    saved = engine.save(tmp_path / "copy.safetensors")
    again = get_plugin_manager().engine_class("spade")()
    again.load(saved, "cpu")
    assert (again.generate(RenderRequest(label=label)).tensor - before).abs().max().item() == 0
    weights = folder / "latest_net_G.pth"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    with pytest.raises(CheckpointError, match="changed since it was loaded"):
        engine.save(tmp_path / "stale.safetensors")


@pytest.mark.parametrize("engine_id", ["spade", "sean", "pix2pixhd"])
def test_every_engine_refuses_a_sidecar_of_another_engine(tmp_path, engine_id):
    """Once in the pipeline, for all three (before, only two of them checked the sidecar's engine)."""
    model = tmp_path / "m.safetensors"
    other = {"spade": "sean_faces", "sean": "spade_streets", "pix2pixhd": "spade_streets"}[engine_id]
    model.write_bytes((MODELS / f"{other}.safetensors").read_bytes())
    sidecar = json.loads((MODELS / f"{other}.json").read_text())
    (tmp_path / "m.json").write_text(json.dumps(sidecar))
    with pytest.raises(CheckpointError, match=f"made for the {sidecar['engine']!r} engine, not {engine_id!r}"):
        get_plugin_manager().engine_class(engine_id)().load(model, "cpu")


# ---- Engine.load written once: engines/loading/checkpoint_engine.py ------------------------------------


@pytest.mark.parametrize(
    "engine_id, model", [("spade", "spade_streets"), ("sean", "sean_faces"), ("pix2pixhd", "pix2pixhd_streets")]
)
def test_every_builtin_engine_loads_through_the_template(engine_id, model, caplog):
    engine_class = get_plugin_manager().engine_class(engine_id)
    assert issubclass(engine_class, CheckpointEngine)
    assert engine_class.load is CheckpointEngine.load  # no engine assembles its own load any more
    caplog.set_level(logging.INFO, logger="regionpaint.engines.loading.checkpoint_engine")
    engine = engine_class()
    engine.load(MODELS / f"{model}.safetensors", "cpu")
    assert engine.device == "cpu"
    lines = [r.getMessage() for r in caplog.records if r.name == "regionpaint.engines.loading.checkpoint_engine"]
    assert len(lines) == 1 and lines[0].startswith(f"loaded {engine.display_name} ") and lines[0].endswith(" on cpu")


class ConvImgOnly(CheckpointEngine):
    """SPADE's last convolution alone: the template's steps filled in by a few lines, each one recorded."""

    id = "spade"  # reads SPADE's demo checkpoint, whose sidecar names this engine
    display_name = "conv_img only"

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.conv = None

    @classmethod
    def recognizes(cls, info):
        return False

    def generate(self, request):
        raise NotImplementedError

    def config_from(self, contents):
        self.steps.append("config_from")
        return contents.shapes("G")["conv_img.weight"]

    def build_networks(self, config, contents, device):
        from torch import nn

        from regionpaint.engines.loading.pipeline import build_checked

        self.steps.append("build_networks")
        out_c, in_c, kh, _kw = config
        state = {k.removeprefix("conv_img."): v for k, v in contents.weights["G"].items() if k.startswith("conv_img.")}
        return build_checked(lambda: nn.Conv2d(in_c, out_c, kh, padding=1), state, contents.source("G"), "conv_img")

    def _drop_networks(self) -> None:
        self.steps.append("release")
        self.conv = None

    def install(self, config, networks, contents, device):
        self.steps.append("install")
        self.conv = networks


def test_a_tiny_engine_filling_in_the_steps_loads_a_demo_checkpoint(tmp_path):
    from safetensors.torch import load_file, save_file

    demo = MODELS / "spade_streets.safetensors"
    engine = ConvImgOnly()
    engine.load(demo, "cpu")
    assert engine.steps == ["config_from", "build_networks", "release", "install"]
    assert engine.device == "cpu"
    assert (engine.conv.weight == load_file(demo)["G.conv_img.weight"]).all()

    # A checkpoint that fails in a step keeps the networks loaded before (released only once the next built).
    tensors = load_file(demo)
    del tensors["G.conv_img.bias"]
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, bad)
    (tmp_path / "bad.json").write_text((MODELS / "spade_streets.json").read_text())
    engine.steps.clear()
    with pytest.raises(CheckpointError, match=f"{bad}: missing key 'bias' for conv_img"):
        engine.load(bad, "cpu")
    assert engine.steps == ["config_from", "build_networks"] and engine.conv is not None

    # The pipeline reads the checkpoint for the engine's own id: another engine's sidecar is refused.
    other = type("ConvImgAsSean", (ConvImgOnly,), {"id": "sean"})()
    with pytest.raises(CheckpointError, match="made for the 'spade' engine, not 'sean'"):
        other.load(demo, "cpu")
    assert other.steps == []

    # release_before_loading: the previous networks go before the next checkpoint is read (SEAN).
    early = type("EarlyRelease", (ConvImgOnly,), {"release_before_loading": True})()
    early.load(demo, "cpu")
    assert early.steps == ["release", "config_from", "build_networks", "install"]


class OwnLoadEngine(regionpaint.Engine):
    """A plugin engine that subclasses Engine directly and reads its checkpoint (a JSON colour) itself."""

    id = "ownload"
    display_name = "Own load"
    label_sets = ("cityscapes",)

    @classmethod
    def recognizes(cls, info):
        return False

    def load(self, checkpoint, device="auto"):
        self.colour = json.loads(Path(checkpoint).read_text())["colour"]
        self._device = "cpu"

    def generate(self, request):
        label = np.asarray(request.label)
        if label.ndim != 2 or label.size == 0:
            raise regionpaint.InputError(f"label map must be (H, W), not {label.shape}")
        width, height = request.size or (label.shape[1], label.shape[0])
        image = np.empty((height, width, 3), np.uint8)
        image[...] = self.colour
        return RenderResult(image=image, tensor=None)


def test_a_plugin_engine_implementing_load_itself_still_works(tmp_path):
    from regionpaint.testing import check_engine

    assert not issubclass(OwnLoadEngine, CheckpointEngine)
    checkpoint = tmp_path / "colour.json"
    checkpoint.write_text(json.dumps({"colour": [10, 20, 30]}))
    passed = check_engine(OwnLoadEngine, checkpoint, check_import=False)
    assert "load" in passed and any(name.startswith("generate[") for name in passed)
    engine = OwnLoadEngine()
    engine.load(checkpoint, "auto")
    assert engine.generate(RenderRequest(label=np.zeros((4, 6), np.uint8))).image[2, 3].tolist() == [10, 20, 30]
