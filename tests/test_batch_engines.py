"""Engine.generate_batch: one batched forward pass gives what single generate() calls give (within 1e-5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from regionpaint.engines.base import RenderRequest, StyleSource

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "assets" / "demo" / "models"
# Batched and single forwards run other float32 kernels (oneDNN picks them by batch size and thread count):
# the same sums in another order. Measured on an AMX Xeon: 1.7e-6 (SPADE), 9.8e-7 (pix2pixHD) of the tanh
# output, 6x below. A wrong row, z or instance map moves outputs by > 1e-2.
TOLERANCE = 1e-5


def _engine(engine_id: str, checkpoint: str):
    from regionpaint.plugins.manager import get_plugin_manager

    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(MODELS / checkpoint, "cpu")
    return engine


def _street_labels(count: int, shape=(128, 256), classes=(7, 8, 11, 21, 23, 26)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    labels = []
    for _ in range(count):
        blocks = rng.choice(classes, size=(shape[0] // 16, shape[1] // 16)).astype(np.uint8)
        labels.append(np.kron(blocks, np.ones((16, 16), np.uint8)))
    return labels


def _assert_same(batched, singles) -> None:
    assert len(batched) == len(singles)
    for got, want in zip(batched, singles, strict=True):
        assert got.tensor.shape == want.tensor.shape
        assert (got.tensor - want.tensor).abs().max().item() < TOLERANCE
        # trunc((x + 1) / 2 * 255): a float difference < 2 / 255 moves a pixel by at most one level.
        assert np.abs(got.image.astype(int) - want.image.astype(int)).max() <= 1


def test_spade_batch_equals_single_renders():
    engine = _engine("spade", "spade_streets.safetensors")
    requests = [RenderRequest(label=label, seed=i) for i, label in enumerate(_street_labels(3))]
    # A request at another size forms its own group inside the batch.
    requests.append(RenderRequest(label=_street_labels(1)[0], size=(128, 64)))
    singles = [engine.generate(r) for r in requests]
    batched = engine.generate_batch(requests)
    _assert_same(batched, singles)
    assert batched[-1].tensor.shape[-2:] == (64, 128)
    # Different labels give different images: the batch did not repeat one sample.
    assert (batched[0].tensor - batched[1].tensor).abs().max().item() > 1e-2


def test_pix2pixhd_batch_equals_single_renders_with_seeded_feature_picks():
    engine = _engine("pix2pixhd", "pix2pixhd_streets.safetensors")
    labels = _street_labels(3)
    requests = [
        RenderRequest(label=label, instance=label.astype(np.int32) * 1000, seed=i) for i, label in enumerate(labels)
    ]
    singles = [engine.generate(r) for r in requests]
    batched = engine.generate_batch(requests)
    _assert_same(batched, singles)
    assert batched[0].info.get("feature_picks") == singles[0].info.get("feature_picks")


def test_default_generate_batch_loops_over_generate_for_sean():
    engine = _engine("sean", "sean_faces.safetensors")
    rng = np.random.default_rng(1)
    label = np.kron(rng.integers(0, 19, (16, 16)), np.ones((16, 16), int)).astype(np.uint8)
    photo = rng.integers(0, 256, (*label.shape, 3), dtype=np.uint8)
    style = {"A": StyleSource("A", photo, label)}
    requests = [RenderRequest(label=label, styles=style, seed=s) for s in (1, 2)]
    _assert_same(engine.generate_batch(requests), [engine.generate(r) for r in requests])


def test_bad_request_in_a_batch_raises_input_error():
    from regionpaint.engines.base import InputError

    engine = _engine("pix2pixhd", "pix2pixhd_streets.safetensors")
    good = _street_labels(1)[0]
    with pytest.raises(InputError):
        engine.generate_batch([RenderRequest(label=good), RenderRequest(label=np.full_like(good, 200))])


def test_spade_vae_batch_equals_single_renders_for_every_z_source(tmp_path):
    from tests.test_spade_reference import make_tiny_checkpoint

    folder = make_tiny_checkpoint(tmp_path / "vae", label_nc=5, use_vae=True, seed=7)
    from regionpaint.engines.spade.engine import SpadeEngine

    engine = SpadeEngine()
    engine.load(folder, "cpu")
    rows, cols = np.indices((128, 256))
    label = ((rows // 16 + cols // 32) % 5).astype(np.uint8)
    photo = np.stack([rows % 256, cols % 256, (rows + cols) % 256], axis=-1).astype(np.uint8)
    styles = {"A": StyleSource("A", photo)}
    requests = [
        RenderRequest(label=label, seed=3),  # z from the seed
        RenderRequest(label=np.roll(label, 7, axis=1), styles=styles),  # encoder mean
        RenderRequest(label=label, styles=styles, sample=True, seed=5),  # encoder sample
    ]
    singles = [engine.generate(r) for r in requests]
    batched = engine.generate_batch(requests)
    _assert_same(batched, singles)
    for got, want in zip(batched, singles, strict=True):
        assert got.info["z_source"] == want.info["z_source"]
        # Bit for bit: each request's z comes from its own seed or its own encoder pass, batched or not.
        np.testing.assert_array_equal(got.info["z"], want.info["z"])
