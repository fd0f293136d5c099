"""SPADE inputs: don't-care labels, label/instance validation, and rendering at another size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import InputError, RenderRequest
from regionpaint.engines.spade.engine import SpadeEngine
from regionpaint.engines.spade.inputs import prepare_label
from tests.factories import make_tiny_checkpoint
from tests.test_spade_reference import (
    CITYSCAPES,
    load_state,
    reference_generator,
    reference_semantics,
    require,
)

CITY_CKPT = CITYSCAPES / "checkpoints/spade_cityscapes"


@pytest.fixture(scope="module")
def city():
    engine = SpadeEngine()
    engine.load(require(CITY_CKPT), "cpu")
    return engine


@pytest.fixture(scope="module")
def city_inputs():
    case = require(CITYSCAPES)
    label = np.asarray(Image.open(case / "inputs/label_preprocessed.png"))
    instance = np.asarray(Image.open(case / "inputs/instance_preprocessed.png"))
    return label, instance


@pytest.fixture(scope="module")
def dontcare_folder(tmp_path_factory):
    """COCO-Stuff-like: label_nc 4 + don't-care channel + instance edges = 6 input channels."""
    folder = tmp_path_factory.mktemp("dc") / "ckpt"
    return make_tiny_checkpoint(folder, label_nc=4, contain_dontcare_label=True, seed=11)


def _dontcare_label() -> np.ndarray:
    rows, cols = np.indices((128, 256))
    label = ((rows // 16 + cols // 16) % 4).astype(np.uint8)
    label[40:90, 100:180] = 255  # unlabeled
    label[0:10, :] = 4  # label_nc itself is the don't-care id too (what 255 becomes)
    return label


# ---- don't care ----------------------------------------------------------------------------------------


def test_dontcare_pixels_land_in_channel_label_nc(dontcare_folder):
    from regionpaint.engines.spade import runtime

    engine = SpadeEngine()
    engine.load(dontcare_folder, "cpu")
    assert engine.config.contain_dontcare_label and engine.config.semantic_nc == 6
    label = _dontcare_label()
    mapped = prepare_label(label, engine.config, (256, 128))
    semantics = runtime.make_semantics(mapped, mapped, engine.config, torch.device("cpu"))
    dontcare = (label == 255) | (label == 4)
    assert torch.equal(semantics[0, 4], torch.from_numpy(dontcare.astype(np.float32)))
    assert torch.equal(semantics[0, :5].sum(0), torch.ones(128, 256))  # one-hot over 4 + 1 channels
    assert semantics[0, 5].sum() > 0  # the edge channel is last


def test_dontcare_render_matches_the_reference(dontcare_folder):
    engine = SpadeEngine()
    engine.load(dontcare_folder, "cpu")
    label = _dontcare_label()
    result = engine.generate(RenderRequest(label=label, instance=label))
    ids = np.where(label == 255, 4, label).astype(np.int64)
    seg = reference_semantics(ids, label.astype(np.int64), 5)
    with torch.no_grad():
        expected = reference_generator(load_state(dontcare_folder / "latest_net_G.pth"), seg, (4, 8), "normal")
    assert (result.tensor - expected).abs().max().item() < 1e-4


def test_dontcare_id_without_a_dontcare_channel_is_an_input_error(city, city_inputs):
    label = city_inputs[0].copy()
    label[5:9, 5:9] = 255
    with pytest.raises(InputError, match="255"):
        city.generate(RenderRequest(label=label, instance=city_inputs[1]))


# ---- bad inputs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [35, 77, -1])
def test_label_ids_out_of_range_are_named(city, city_inputs, bad):
    label = city_inputs[0].astype(np.int32)
    label[100, 200] = bad
    with pytest.raises(InputError) as error:
        city.generate(RenderRequest(label=label, instance=city_inputs[1]))
    assert str(bad) in str(error.value) and "0..34" in str(error.value)


def test_ids_beyond_the_dontcare_channel_are_refused(dontcare_folder):
    engine = SpadeEngine()
    engine.load(dontcare_folder, "cpu")
    label = _dontcare_label()
    label[0, 0] = 5
    with pytest.raises(InputError, match=r"ids 5 .*255"):
        engine.generate(RenderRequest(label=label, instance=label))


def test_instance_map_of_another_size_is_an_input_error(city, city_inputs):
    with pytest.raises(InputError, match="same size"):
        city.generate(RenderRequest(label=city_inputs[0], instance=np.zeros((10, 20), np.uint16)))


@pytest.mark.parametrize("label", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 3), np.uint8)])
def test_label_must_be_an_integer_id_map(city, label):
    with pytest.raises(InputError, match="integer id map"):
        city.generate(RenderRequest(label=label))


def test_missing_instance_map_falls_back_to_the_label(city, city_inputs):
    label = city_inputs[0]
    fallback = city.generate(RenderRequest(label=label))
    explicit = city.generate(RenderRequest(label=label, instance=label.astype(np.int32)))
    assert fallback.info["instance_source"] == "label"
    assert torch.equal(fallback.tensor, explicit.tensor)


# ---- other sizes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "latent"), [((128, 64), (1, 2)), ((384, 192), (3, 6))])
def test_non_vae_renders_at_another_size(city, city_inputs, size, latent):
    """--size W x H: label and instance resized with PIL NEAREST to W x H, latent grid (H/64, W/64)."""
    label, instance = city_inputs
    result = city.generate(RenderRequest(label=label, instance=instance, size=size))
    assert result.info["size"] == size and result.tensor.shape == (1, 3, size[1], size[0])
    assert result.image.shape == (size[1], size[0], 3)
    small_label = np.asarray(Image.fromarray(label).resize(size, Image.NEAREST)).astype(np.int64)
    small_instance = np.asarray(Image.fromarray(instance.astype(np.int32)).resize(size, Image.NEAREST))
    seg = reference_semantics(small_label, small_instance.astype(np.int64), 35)
    with torch.no_grad():
        expected = reference_generator(load_state(CITY_CKPT / "latest_net_G.pth"), seg, latent, "more")
    assert (result.tensor - expected).abs().max().item() < 1e-4


@pytest.mark.parametrize("size", [(100, 64), (128, 0), (96, 64)])
def test_sizes_the_network_cannot_render_are_input_errors(city, city_inputs, size):
    with pytest.raises(InputError, match="multiples of 64"):
        city.generate(RenderRequest(label=city_inputs[0], instance=city_inputs[1], size=size))
