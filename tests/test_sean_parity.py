"""SEAN parity with the official code's outputs in ../shared/refs/sean_celebahq (made with ZPdesu/SEAN).

Protects: generator + ACE + Zencoder arithmetic, preprocessing (NEAREST labels, BICUBIC photos), the
noise draw order and seeding, tensor2im, and the safetensors round trip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import RenderRequest, StyleSource
from regionpaint.engines.sean.engine import SeanEngine

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

CASE = Path(__file__).resolve().parents[2] / "shared" / "refs" / "sean_celebahq"
# Parity with the official outputs in ../shared/refs, made by the official code on another machine: float32
# both, other kernels, the same sums in another order. Measured on an AMX Xeon: SPADE 5.0e-7, SEAN 6.6e-7,
# pix2pixHD 2.5e-6 from the official tensors; 1e-4 is the project's parity bar (40x above the largest). The
# official PNGs are trunc((x + 1) / 2 * 255) of those tensors, so within 1e-4 means within one level of them.
TOL = 1e-4


def _case() -> Path:
    if not CASE.is_dir():
        pytest.skip(f"{CASE} is not present")
    return CASE


def read(name: str, rgb: bool = False) -> np.ndarray:
    image = Image.open(_case() / name)
    return np.array(image.convert("RGB") if rgb else image)


def ref_tensor(name: str) -> torch.Tensor:
    return torch.load(_case() / name, map_location="cpu", weights_only=True)


def untensor2im(png: np.ndarray) -> np.ndarray:
    """Undo tensor2im's truncation of a [-1, 1] photo: values 1..63 come out one level low.

    ``inputs/style_*_preprocessed.png`` were written with tensor2im from the normalised input, so value
    p in 1..62 came from p + 1 (63 never occurs). p == 0 is ambiguous (0 or 1) and stays 0.
    """
    png = png.astype(np.int16)
    return np.where((png >= 1) & (png <= 62), png + 1, png).astype(np.uint8)


@pytest.fixture(scope="module")
def engine() -> SeanEngine:
    eng = SeanEngine()
    eng.load(_case() / "checkpoints" / "sean_celebahq", device="cpu")
    return eng


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    return {
        "label": read("datasets/CelebA-HQ/test/labels_A/28083.png"),
        "A": read("datasets/CelebA-HQ/test/images_A/28083.jpg", rgb=True),
        "B": read("datasets/CelebA-HQ/test/images_B/28090.jpg", rgb=True),
    }


def render(engine: SeanEngine, label, image, style_label, noise: bool) -> object:
    source = StyleSource("style", image, style_label)
    return engine.generate(RenderRequest(label=label, styles={"style": source}, noise=noise, seed=0))


def assert_png_close(image: np.ndarray, name: str) -> None:
    assert np.abs(image.astype(np.int16) - read(name, rgb=True).astype(np.int16)).max() <= 1


@pytest.mark.parametrize(
    ("noise", "tensor", "png"), [(False, "output_nonoise.pt", "output_nonoise.png"), (True, "output.pt", "output.png")]
)
def test_original_resolution_inputs_match_official(engine, inputs, noise, tensor, png):
    """512x512 label + 1024x1024 photo, official resize_and_crop to 256; noise seeded with 0."""
    result = render(engine, inputs["label"], inputs["A"], inputs["label"], noise)
    assert result.tensor.shape == (1, 3, 256, 256) and result.tensor.dtype == torch.float32
    assert (result.tensor - ref_tensor(tensor)).abs().max().item() < TOL
    assert_png_close(result.image, png)
    assert result.info["size"] == (256, 256) and result.info["seed"] == 0


def test_preprocessed_label_matches_official(engine, inputs):
    """inputs/label_preprocessed.png (ids at 256x256) renders the same as the 512x512 label."""
    label = read("inputs/label_preprocessed.png")
    result = render(engine, label, inputs["A"], inputs["label"], noise=False)
    assert (result.tensor - ref_tensor("output_nonoise.pt")).abs().max().item() < TOL


@pytest.mark.parametrize(("noise", "tensor"), [(False, "output_nonoise.pt"), (True, "output.pt")])
def test_preprocessed_inputs_match_official(engine, noise, tensor):
    """Both network-size inputs; the style PNG is tensor2im output, so undo its truncation first."""
    label = read("inputs/label_preprocessed.png")
    style = untensor2im(read("inputs/style_A_preprocessed.png", rgb=True))
    result = render(engine, label, style, label, noise)
    # Measured 3.9e-5 / 4.3e-5 (noise off / on), not the 6.6e-7 of the full-size inputs: the style PNG lost a
    # level to tensor2im's truncation and its 0s stay ambiguous (0 or 1), so the codes differ from the official
    # ones by the input itself. That part is the same on every CPU; the kernels add ~1e-6.
    assert (result.tensor - ref_tensor(tensor)).abs().max().item() < TOL
    assert_png_close(result.image, "output.png" if noise else "output_nonoise.png")


def test_style_b_matches_official_png(engine, inputs):
    result = render(engine, inputs["label"], inputs["B"], inputs["label"], noise=True)
    assert_png_close(result.image, "output_styleB.png")


@pytest.mark.parametrize(("key", "image", "folder"), [("A", "A", "28083.jpg"), ("B", "B", "28090.jpg")])
def test_encoded_codes_match_official(engine, inputs, key, image, folder):
    codes = engine.encode_style(StyleSource(key, inputs[image], inputs["label"]))
    reference = ref_tensor("style_codes.pt")
    expected = reference[f"style_codes_{key}"][0].numpy()
    assert codes.codes.shape == (19, 32) and codes.codes.dtype == np.float32
    assert np.abs(codes.codes - expected).max() < 1e-5
    assert sorted(codes.present) == reference["present_classes"]
    for c in range(19):
        npy = _case() / "styles_test" / "style_codes" / folder / str(c) / "ACE.npy"
        if c in codes.present:
            assert np.abs(codes.codes[c] - np.load(npy)).max() < 1e-5
        else:
            assert not npy.exists() and not codes.codes[c].any()


def test_noise_is_seeded_and_optional(engine, inputs):
    source = {"A": StyleSource("A", inputs["A"], inputs["label"])}
    first = engine.generate(RenderRequest(label=inputs["label"], styles=source, noise=True, seed=5))
    again = engine.generate(RenderRequest(label=inputs["label"], styles=source, noise=True, seed=5))
    fresh = engine.generate(RenderRequest(label=inputs["label"], styles=source, noise=True, seed=None))
    assert torch.equal(first.tensor, again.tensor)
    assert not torch.equal(first.tensor, fresh.tensor)
    assert isinstance(fresh.info["seed"], int)
    # The same seed reproduces a seed-less render.
    replay = engine.generate(RenderRequest(label=inputs["label"], styles=source, seed=fresh.info["seed"]))
    assert torch.equal(replay.tensor, fresh.tensor)


def test_safetensors_round_trip_renders_identically(engine, inputs, tmp_path):
    path = engine.save(tmp_path / "sean.safetensors")
    assert path.with_suffix(".json").is_file()
    other = SeanEngine()
    other.load(path, device="cpu")
    assert other.config == engine.config
    request = RenderRequest(label=inputs["label"], styles={"A": StyleSource("A", inputs["A"], inputs["label"])}, seed=3)
    assert torch.equal(other.generate(request).tensor, engine.generate(request).tensor)
