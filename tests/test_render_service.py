"""The render service (app/render/service.py): one owner of engine, checkpoint and device for every front end.

Real engines on the bundled demo checkpoints and tiny SPADE checkpoints; a recording test engine checks
what reaches an engine that declares less.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

import regionpaint
from regionpaint.app.render.service import RenderJob, RenderService, RenderSetupError
from regionpaint.engines.base import (
    INSTANCE_FEATURES,
    LATENT_Z,
    REGION_STYLES,
    RenderRequest,
    RenderResult,
    StyleSource,
)
from regionpaint.engines.schema import Option
from regionpaint.plugins.manager import PluginManager
from tests.conftest import REPO
from tests.factories import make_tiny_checkpoint

MODELS = REPO / "assets" / "demo" / "models"


class RecordingEngine(regionpaint.Engine):
    """Needs no weights; remembers the requests it was given."""

    id = "recording"
    display_name = "Recording"
    capabilities = frozenset({REGION_STYLES})
    needs_checkpoint = False
    options = (Option("tint", "int", default=0, minimum=0, maximum=255, help="added to every pixel"),)
    seen: ClassVar[list[RenderRequest]] = []

    @classmethod
    def recognizes(cls, info) -> bool:
        return False

    def load(self, checkpoint, device: str = "auto") -> None:
        self._device = "cpu"

    def generate(self, request: RenderRequest) -> RenderResult:
        type(self).seen.append(request)
        h, w = request.label.shape
        image = np.full((h, w, 3), request.options["tint"], np.uint8)
        return RenderResult(image=image, tensor=None)


class RecordingPlugin:
    @regionpaint.hookimpl
    def register_engines(self, register):
        register(RecordingEngine)


@pytest.fixture
def service() -> RenderService:
    manager = PluginManager(load_entry_points=False, extra_plugins=[("recording", RecordingPlugin())])
    service = RenderService(manager)
    yield service
    service.release()


def test_capabilities_are_per_checkpoint_and_known_before_loading(service, tmp_path):
    plain = make_tiny_checkpoint(tmp_path / "plain", crop_size=64)
    vae = make_tiny_checkpoint(tmp_path / "vae", use_vae=True, crop_size=64)
    assert LATENT_Z not in service.capabilities("", plain)
    assert LATENT_Z in service.capabilities("", vae)
    assert INSTANCE_FEATURES in service.capabilities("", MODELS / "pix2pixhd_streets.safetensors")
    assert service._cache._engine is None, "nothing was loaded to find out"


def test_render_equals_the_engine_and_reuses_the_loaded_model(service):
    label = np.zeros((128, 256), np.uint8)
    label[64:] = 7  # road
    label[:40] = 23  # sky
    job = RenderJob(
        request=RenderRequest(label=label, label_set="cityscapes"), checkpoint=str(MODELS / "spade_streets.safetensors")
    )
    first = service.render(job)
    again = service.render(job)
    assert first.engine_id == "spade" and first.loaded and not again.loaded
    engine = service.manager.engine_class("spade")()
    engine.load(MODELS / "spade_streets.safetensors", "cpu")
    assert np.array_equal(first.result.image, engine.generate(RenderRequest(label=label)).image)
    other = service.render(
        RenderJob(request=RenderRequest(label=label), checkpoint=str(MODELS / "pix2pixhd_streets.safetensors"))
    )
    assert other.engine_id == "pix2pixhd" and other.loaded, "a switch loads the other checkpoint"


def test_an_engine_without_mean_styles_never_receives_them(service):
    RecordingEngine.seen.clear()
    label = np.zeros((8, 8), np.uint8)
    photo = StyleSource("A", np.zeros((8, 8, 3), np.uint8), label)
    request = RenderRequest(
        label=label,
        styles={"A": photo},
        region_styles={1: (("@mean", 0.5), ("A", 0.5)), 2: (("@random", 1.0),)},
        crossover={"up_0": "A"},
    )
    outcome = service.render(RenderJob(request=request, engine_id="recording", options={"tint": 9}))
    seen = RecordingEngine.seen[-1]
    assert seen.region_styles == {1: (("A", 1.0),)}, "engine styles dropped, the rest renormalised"
    assert seen.crossover == {} and seen.options == {"tint": 9}
    assert outcome.result.image[0, 0, 0] == 9 and outcome.result.image.shape == (8, 8, 3)


def test_options_are_checked_against_the_engine_schema(service):
    label = np.zeros((4, 4), np.uint8)
    with pytest.raises(RenderSetupError, match="maximum"):
        service.render(RenderJob(request=RenderRequest(label=label), engine_id="recording", options={"tint": 999}))
    with pytest.raises(RenderSetupError, match="unknown option colour"):
        service.render(
            RenderJob(
                request=RenderRequest(label=label), engine_id="recording", options={"colour": 1}, strict_options=True
            )
        )
    # A document keeps options of other engines: without strict checking they are ignored.
    outcome = service.render(
        RenderJob(request=RenderRequest(label=label), engine_id="recording", options={"spade_z": "x"})
    )
    assert outcome.request.options == {"tint": 0}


def test_an_engine_that_needs_weights_says_so_without_a_checkpoint(service):
    with pytest.raises(RenderSetupError, match="needs a checkpoint"):
        service.render(RenderJob(request=RenderRequest(label=np.zeros((4, 4), np.uint8)), engine_id="spade"))
