"""Full-size pix2pixHD networks (built on the meta device) have the official keys and shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from regionpaint.engines.loading.checkpoint import check_state_dict
from regionpaint.engines.pix2pixhd.architecture import (
    EncoderArch,
    GeneratorArch,
    infer_encoder,
    infer_generator,
    resolve_inputs,
)
from regionpaint.engines.pix2pixhd.networks import build_encoder, build_generator

SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs"

GLOBAL_512P = GeneratorArch("global", 36, 64, 4, 9, 0, 0, "instance")
GLOBAL_FEAT_512P = GeneratorArch("global", 39, 64, 4, 9, 0, 0, "instance")
LOCAL_1024P = GeneratorArch("local", 36, 32, 4, 9, 1, 3, "instance")
ENCODER = EncoderArch(3, 3, 16, 4, "instance")

CASES = {
    "pix2pixhd_global_512p_default.json": (build_generator, GLOBAL_512P),
    "pix2pixhd_global_feat_512p_default.json": (build_generator, GLOBAL_FEAT_512P),
    "pix2pixhd_local_1024p_default.json": (build_generator, LOCAL_1024P),
    "pix2pixhd_encoder_default.json": (build_encoder, ENCODER),
}


def _spec(name: str) -> list[tuple[str, tuple[int, ...], str]]:
    path = SPECS / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    keys = json.loads(path.read_text())["nets"]["G"]["keys"]
    return [(k, tuple(shape), dtype) for k, shape, dtype in keys]


@pytest.mark.parametrize("name", sorted(CASES))
def test_full_size_keys_and_shapes_match_spec(name):
    spec = _spec(name)
    factory, arch = CASES[name]
    with torch.device("meta"):
        net = factory(arch)
    ours = [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in net.state_dict().items()]
    assert ours == spec  # same keys, shapes and dtypes in the same order
    assert {k for k, _, _ in ours} == {k for k, _, _ in spec}


@pytest.mark.parametrize("name", sorted(CASES))
def test_architecture_is_read_back_from_spec_shapes(name):
    spec = _spec(name)
    factory, arch = CASES[name]
    shapes = {k: shape for k, shape, _ in spec}
    inferred = infer_encoder(shapes, name) if factory is build_encoder else infer_generator(shapes, name)
    assert inferred == arch
    with torch.device("meta"):
        state = {k: torch.empty(shape) for k, shape in shapes.items()}
        expected = {k: tuple(v.shape) for k, v in factory(inferred).state_dict().items()}
    check_state_dict(expected, state, name, "spec")


def test_input_split_is_guessed_without_opt_txt():
    plain = resolve_inputs(36, {})
    assert (plain.label_nc, plain.instance_edge, plain.feat_num, plain.guessed) == (35, True, 0, True)
    feat = resolve_inputs(39, {}, encoder_feat_num=3)
    assert (feat.label_nc, feat.instance_edge, feat.feat_num) == (35, True, 3)
    # An encoder next to a plain generator does not invent feature channels.
    assert resolve_inputs(36, {}, encoder_feat_num=3).feat_num == 0
    # opt.txt that adds up wins; one that does not is overruled by the tensors.
    opt = {"label_nc": "35", "no_instance": "False", "instance_feat": "True", "feat_num": "3"}
    assert not resolve_inputs(39, opt).guessed
    assert resolve_inputs(36, opt).guessed
    ade = resolve_inputs(151, {})
    assert (ade.label_nc, ade.instance_edge) == (151, False)
    assert resolve_inputs(20, {}).label_nc == 19  # CelebAMask-HQ + edge
    coco = resolve_inputs(183, {})
    assert (coco.label_nc, coco.instance_edge) == (182, True)
    odd = resolve_inputs(12, {})
    assert (odd.label_nc, odd.instance_edge) == (11, True)  # unknown: official default, edge on


def test_image_to_image_checkpoints_are_refused():
    from regionpaint.engines.base import CheckpointError

    with pytest.raises(CheckpointError, match="label_nc 0"):
        resolve_inputs(4, {"label_nc": "0", "no_instance": "False"})
