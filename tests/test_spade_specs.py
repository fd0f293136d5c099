"""Full-size SPADE networks, built on the meta device from the options inferred from each official spec,
have exactly the official keys, shapes and key order (generator, and the VAE encoder for COCO)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from regionpaint.engines.spade.config import SpadeConfig
from regionpaint.engines.spade.loading import infer_config
from regionpaint.engines.spade.networks import ConvEncoder, SPADEGenerator, official_state_shapes
from tests.test_spade_reference import SHARED, require

SPECS = SHARED / "specs"
CASES = {
    # spec file: (label_nc, contain_dontcare_label, no_instance, use_vae)
    "spade_cityscapes_default.json": (35, False, False, False),
    "spade_ade20k_default.json": (150, True, True, False),
    "spade_coco_vae_default.json": (182, True, False, True),
}


def _spec(name: str) -> dict:
    return json.loads(require(SPECS / name).read_text())


def _keys(spec: dict, net: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(shape)) for key, shape, _ in spec["nets"][net]["keys"]]


def _assert_same_layout(got: dict[str, tuple[int, ...]], expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert set(got) == {k for k, _ in expected}
    assert [k for k, _ in expected] == list(got)  # order too: the official save order
    for key, shape in expected:
        assert got[key] == shape, key


@pytest.mark.parametrize("name", sorted(CASES))
def test_inferred_options_match_the_spec(name):
    spec = _spec(name)
    label_nc, dontcare, no_instance, use_vae = CASES[name]
    encoder_shapes = dict(_keys(spec, "E")) if "E" in spec["nets"] else None
    config = infer_config(dict(_keys(spec, "G")), {}, name, encoder_shapes)
    assert (config.label_nc, config.contain_dontcare_label, config.no_instance) == (label_nc, dontcare, no_instance)
    assert config.semantic_nc == spec["semantic_nc"] and config.ngf == spec["ngf"]
    assert config.crop_size == spec["crop_size"]
    assert config.num_upsampling_layers == spec["num_upsampling_layers"]
    assert config.use_vae == use_vae and config.norm_G == "spectralspadesyncbatch3x3"
    if use_vae:
        assert config.z_dim == 256 and config.encoder is not None
        assert config.encoder.ndf == spec["ngf"] and config.encoder.has_layer6
        assert config.encoder.norm_E == "spectralinstance"


@pytest.mark.parametrize("name", sorted(CASES))
def test_full_size_generator_layout(name):
    spec = _spec(name)
    config = infer_config(dict(_keys(spec, "G")), {}, name)
    with torch.device("meta"):
        net = SPADEGenerator(config, spectral_hooks=False)
    layout = official_state_shapes(net)
    _assert_same_layout(layout, _keys(spec, "G"))
    assert sum(math.prod(shape) for shape in layout.values()) == spec["nets"]["G"]["num_elements"]
    counters = [k for k, v in net.state_dict().items() if v.dtype == torch.int64]
    assert counters == [k for k, _, dtype in spec["nets"]["G"]["keys"] if dtype == "int64"]


def test_full_size_vae_encoder_layout():
    spec = _spec("spade_coco_vae_default.json")
    config = infer_config(dict(_keys(spec, "G")), {}, "coco", dict(_keys(spec, "E")))
    with torch.device("meta"):
        net = ConvEncoder(config.encoder, spectral_hooks=False)
    _assert_same_layout(official_state_shapes(net), _keys(spec, "E"))


@pytest.mark.parametrize("num_up", ["normal", "more", "most"])
@pytest.mark.parametrize("use_vae", [False, True])
def test_torch_spectral_norm_layout_equals_the_derived_layout(num_up, use_vae):
    """Built with torch's spectral_norm hooks (the training layout), the state dict has the same keys,
    shapes and order as the hook-free inference build reports."""
    config = SpadeConfig(
        label_nc=3, contain_dontcare_label=True, no_instance=False, ngf=4, num_upsampling_layers=num_up,
        norm_G="spectralspadesyncbatch3x3", use_vae=use_vae, z_dim=8, crop_size=256, aspect_ratio=1.0,
    )  # fmt: skip
    hooked = {k: tuple(v.shape) for k, v in SPADEGenerator(config).state_dict().items()}
    plain = official_state_shapes(SPADEGenerator(config, spectral_hooks=False))
    assert list(hooked.items()) == list(plain.items())
    assert ("up_4.conv_0.weight_orig" in hooked) == (num_up == "most")


def test_spec_files_cover_the_three_official_configs():
    assert {p.name for p in Path(require(SPECS)).glob("spade_*.json")} >= set(CASES)
