"""SPADE with the VAE encoder, on a tiny random checkpoint (G + E, ngf 4, official key layout).

No official reference output exists for a VAE checkpoint; the engine is checked against the independent
reference forward of test_spade_reference.py (itself checked against the official Cityscapes output)
and against the official z semantics: ``z = mu`` from the encoder, ``mu + randn_like(std) * std`` after
``torch.manual_seed(seed)`` when sampling, ``torch.randn(1, z_dim)`` after the seed without a photo.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import InputError, RenderRequest, StyleSource
from regionpaint.engines.spade.engine import SpadeEngine
from tests.factories import make_tiny_checkpoint
from tests.test_spade_reference import (
    load_state,
    reference_encoder,
    reference_generator,
    reference_semantics,
)

LABEL_NC = 5
SIZE = (256, 128)  # crop_size 256, aspect_ratio 2, normal: latent 4x8 (layer6 present since crop >= 256)


@pytest.fixture(scope="module")
def vae_folder(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("vae") / "ckpt", label_nc=LABEL_NC, use_vae=True, seed=7)


@pytest.fixture(scope="module")
def engine(vae_folder):
    engine = SpadeEngine()
    engine.load(vae_folder, "cpu")
    return engine


def _label() -> np.ndarray:
    rows, cols = np.indices((128, 256))
    return ((rows // 16 + cols // 32) % LABEL_NC).astype(np.uint8)


def _photo(height: int = 200, width: int = 300) -> np.ndarray:
    rows, cols = np.indices((height, width))
    rgb = np.stack([rows * 255 // height, cols * 255 // width, (rows + cols) * 97 % 256], axis=-1)
    return rgb.astype(np.uint8)


def _reference_photo_tensor(photo: np.ndarray) -> torch.Tensor:
    """Official loader: PIL BICUBIC to the 256x128 input size, ToTensor, Normalize(0.5, 0.5)."""
    resized = np.asarray(Image.fromarray(photo).resize(SIZE, Image.BICUBIC), dtype=np.float32) / 255.0
    return ((torch.from_numpy(resized).permute(2, 0, 1) - 0.5) / 0.5)[None]


def _reference_output(folder, z: torch.Tensor) -> torch.Tensor:
    label = _label().astype(np.int64)
    seg = reference_semantics(label, label, LABEL_NC)  # no instance map given: the label stands in
    with torch.no_grad():
        return reference_generator(load_state(folder / "latest_net_G.pth"), seg, (4, 8), "normal", z=z)


def test_loads_as_vae_with_its_encoder(engine):
    assert engine.uses_vae and engine.has_encoder
    assert engine.config.z_dim == 256 and engine.config.latent_size == (4, 8)
    assert engine.network_size((10, 10)) == SIZE


def test_encoder_matches_the_reference_and_z_is_mu(engine, vae_folder):
    photo = _photo()
    with torch.no_grad():
        mu, logvar = reference_encoder(load_state(vae_folder / "latest_net_E.pth"), _reference_photo_tensor(photo))
    encoded = engine.encode_style(StyleSource("p", photo))
    assert np.abs(encoded["mu"] - mu.numpy()).max() < 1e-4
    assert np.abs(encoded["logvar"] - logvar.numpy()).max() < 1e-4
    result = engine.generate(RenderRequest(label=_label(), styles={"p": StyleSource("p", photo)}))
    assert result.info["z_source"] == "encoder_mean"
    assert np.array_equal(result.info["z"], encoded["mu"])  # z = mu exactly
    assert result.info["z"].shape == (1, 256) and result.info["z"].dtype == np.float32
    expected = _reference_output(vae_folder, torch.from_numpy(encoded["mu"]))
    assert result.tensor.shape == (1, 3, 128, 256)
    assert (result.tensor - expected).abs().max().item() < 1e-4


def test_sampling_follows_the_official_reparameterisation(engine):
    photo = _photo()
    styles = {"p": StyleSource("p", photo)}
    encoded = engine.encode_style(styles["p"])
    mu, logvar = torch.from_numpy(encoded["mu"]), torch.from_numpy(encoded["logvar"])
    std = torch.exp(0.5 * logvar)
    torch.manual_seed(3)
    expected_z = torch.randn_like(std).mul(std) + mu
    result = engine.generate(RenderRequest(label=_label(), styles=styles, sample=True, seed=3))
    assert result.info["z_source"] == "encoder_sample"
    assert np.array_equal(result.info["z"], expected_z.numpy())
    again = engine.generate(RenderRequest(label=_label(), styles=styles, sample=True, seed=3))
    other = engine.generate(RenderRequest(label=_label(), styles=styles, sample=True, seed=4))
    assert torch.equal(result.tensor, again.tensor)
    assert (result.tensor - other.tensor).abs().max().item() > 1e-3


def test_no_photo_draws_z_from_the_seed(engine, vae_folder):
    result = engine.generate(RenderRequest(label=_label(), seed=5))
    torch.manual_seed(5)
    expected_z = torch.randn(1, 256)
    assert result.info["z_source"] == "random"
    assert np.array_equal(result.info["z"], expected_z.numpy())
    assert (result.tensor - _reference_output(vae_folder, expected_z)).abs().max().item() < 1e-4
    default_seed = engine.generate(RenderRequest(label=_label()))  # seed None -> 0
    torch.manual_seed(0)
    assert np.array_equal(default_seed.info["z"], torch.randn(1, 256).numpy())


def test_explicit_z_wins_and_keeps_the_output(engine, vae_folder):
    z = np.linspace(-2, 2, 256, dtype=np.float32)[None]
    styles = {"p": StyleSource("p", _photo())}
    result = engine.generate(RenderRequest(label=_label(), z=z, styles=styles, sample=True))
    assert result.info["z_source"] == "request" and np.array_equal(result.info["z"], z)
    assert (result.tensor - _reference_output(vae_folder, torch.from_numpy(z))).abs().max().item() < 1e-4
    # The editor keeps info["z"] and sends it back: the same picture.
    again = engine.generate(RenderRequest(label=_label(), z=result.info["z"]))
    assert torch.equal(result.tensor, again.tensor)


def test_cached_modulations_give_the_same_output_as_a_fresh_engine(engine, vae_folder):
    z = np.random.default_rng(1).standard_normal((1, 256)).astype(np.float32)
    engine.generate(RenderRequest(label=_label(), seed=1))  # fills the label cache
    cached = engine.generate(RenderRequest(label=_label(), z=z))
    fresh = SpadeEngine()
    fresh.modulation_cache_limit = 0  # never cache: the plain forward
    fresh.load(vae_folder, "cpu")
    assert torch.equal(cached.tensor, fresh.generate(RenderRequest(label=_label(), z=z)).tensor)


def test_vae_renders_only_its_own_size(engine):
    with pytest.raises(InputError, match="256x128"):
        engine.generate(RenderRequest(label=_label(), size=(512, 256)))
    assert engine.generate(RenderRequest(label=_label(), size=SIZE, seed=0)).tensor.shape == (1, 3, 128, 256)


def test_bad_z_and_missing_style_source_are_input_errors(engine):
    with pytest.raises(InputError, match="z must have shape"):
        engine.generate(RenderRequest(label=_label(), z=np.zeros((1, 7), np.float32)))
    with pytest.raises(InputError, match="'B'"):
        engine.generate(
            RenderRequest(label=_label(), styles={"A": StyleSource("A", _photo())}, default_style=(("B", 1.0),))
        )
