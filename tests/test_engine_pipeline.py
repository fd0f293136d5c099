"""The load pipeline every engine shares (engines/common/pipeline.py) and the base's save()."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from engines.base import CheckpointError, RenderRequest
from plugins.manager import get_plugin_manager
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
