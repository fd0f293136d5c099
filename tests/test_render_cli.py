"""`regionpaint render` reproduces the official reference outputs, and bad input gives one clear line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.cli import main
from tests.conftest import require_shared

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

# Parity with the official outputs in ../shared/refs, made by the official code on another machine: float32
# both, other kernels, the same sums in another order. Measured on an AMX Xeon: SPADE 5.0e-7, SEAN 6.6e-7,
# pix2pixHD 2.5e-6 from the official tensors; 1e-4 is the project's parity bar (40x above the largest). The
# official PNGs are trunc((x + 1) / 2 * 255) of those tensors, so within 1e-4 means within one level of them.
TOLERANCE = 1e-4


def _refs(case: str) -> Path:
    return require_shared("refs", case)


def _render(tmp_path: Path, *args: str) -> tuple[np.ndarray, torch.Tensor]:  # noqa: F821
    import torch

    out, tensor = tmp_path / "out.png", tmp_path / "out.pt"
    code = main(["render", *args, "--device", "cpu", "--out", str(out), "--save-tensor", str(tensor)])
    assert code == 0
    return np.asarray(Image.open(out).convert("RGB")), torch.load(tensor, weights_only=True)


def _assert_matches(case_dir: Path, image: np.ndarray, tensor, stem: str = "output") -> None:
    import torch

    expected = torch.load(case_dir / f"{stem}.pt", weights_only=True)
    assert tensor.shape == expected.shape and tensor.dtype == torch.float32
    assert (tensor - expected).abs().max().item() < TOLERANCE
    png = np.asarray(Image.open(case_dir / f"{stem}.png").convert("RGB")).astype(int)
    assert np.abs(image.astype(int) - png).max() <= 1


CITYSCAPES_STEM = "frankfurt_000000_000576_gtFine"


@pytest.mark.parametrize("case", ["spade_cityscapes", "pix2pixhd_global"])
def test_cityscapes_cases_from_original_resolution(tmp_path, case):
    case_dir = _refs(case)
    label = next(case_dir.glob(f"datasets/**/{CITYSCAPES_STEM}_labelIds.png"))
    instance = next(case_dir.glob(f"datasets/**/{CITYSCAPES_STEM}_instanceIds.png"))
    image, tensor = _render(
        tmp_path,
        "--checkpoint",
        str(case_dir / "checkpoints" / case),
        "--label",
        str(label),
        "--instance",
        str(instance),
    )
    _assert_matches(case_dir, image, tensor)


@pytest.mark.parametrize("case", ["spade_cityscapes", "pix2pixhd_global"])
def test_cityscapes_cases_from_preprocessed_inputs(tmp_path, case):
    case_dir = _refs(case)
    image, tensor = _render(
        tmp_path,
        "--checkpoint",
        str(case_dir / "checkpoints" / case),
        "--label",
        str(case_dir / "inputs/label_preprocessed.png"),
        "--instance",
        str(case_dir / "inputs/instance_preprocessed.png"),
    )
    _assert_matches(case_dir, image, tensor)


# The shipped style_*_preprocessed.png went through tensor2im, which truncates: values 1..63 come out
# one level low, which moves SEAN's output by ~4e-3. The network-size label is exact, so the
# "preprocessed" runs pair it with the original style photo (which the official transform resizes);
# the lossy PNG is checked separately at the PNG level.
SEAN_LOSSY_STYLE_TOLERANCE = 1e-2


def _sean_inputs(case_dir: Path, preprocessed: bool, style_png: bool = False) -> list[str]:
    label = case_dir / (
        "inputs/label_preprocessed.png" if preprocessed else "datasets/CelebA-HQ/test/labels_A/28083.png"
    )
    photo = case_dir / (
        "inputs/style_A_preprocessed.png" if style_png else "datasets/CelebA-HQ/test/images_A/28083.jpg"
    )
    return [
        "--checkpoint",
        str(case_dir / "checkpoints/sean_celebahq"),
        "--label",
        str(label),
        "--style",
        f"A={photo}:{label}",
    ]


@pytest.mark.parametrize("preprocessed", [False, True])
def test_sean_without_noise_matches_the_deterministic_reference(tmp_path, preprocessed):
    case_dir = _refs("sean_celebahq")
    image, tensor = _render(tmp_path, *_sean_inputs(case_dir, preprocessed), "--no-noise")
    _assert_matches(case_dir, image, tensor, "output_nonoise")


@pytest.mark.parametrize("preprocessed", [False, True])
def test_sean_with_seed_zero_matches_the_official_noise_draw(tmp_path, preprocessed):
    case_dir = _refs("sean_celebahq")
    image, tensor = _render(tmp_path, *_sean_inputs(case_dir, preprocessed), "--seed", "0")
    _assert_matches(case_dir, image, tensor, "output")


@pytest.mark.parametrize(("flags", "stem"), [(["--no-noise"], "output_nonoise"), (["--seed", "0"], "output")])
def test_sean_from_fully_preprocessed_pngs(tmp_path, flags, stem):
    import torch

    case_dir = _refs("sean_celebahq")
    image, tensor = _render(tmp_path, *_sean_inputs(case_dir, True, style_png=True), *flags)
    expected = torch.load(case_dir / f"{stem}.pt", weights_only=True)
    assert (tensor - expected).abs().max().item() < SEAN_LOSSY_STYLE_TOLERANCE
    png = np.asarray(Image.open(case_dir / f"{stem}.png").convert("RGB")).astype(int)
    assert np.abs(image.astype(int) - png).max() <= 1


def test_sean_region_style_and_crossover_change_the_output(tmp_path):
    case_dir = _refs("sean_celebahq")
    base = _sean_inputs(case_dir, preprocessed=True)
    b_style = f"B={case_dir / 'inputs/style_B_preprocessed.png'}:{case_dir / 'inputs/label_preprocessed.png'}"
    _, pure_a = _render(tmp_path, *base, "--no-noise")
    _, hair_b = _render(tmp_path, *base, "--style", b_style, "--region-style", "hair=B", "--no-noise")
    _, all_b_by_crossover = _render(
        tmp_path, *base, "--style", b_style, "--no-noise", "--crossover", ",".join(f"{i}=B" for i in range(7))
    )
    _, all_b = _render(tmp_path, *base, "--style", b_style, "--region-style", "all=B", "--no-noise")
    assert (hair_b - pure_a).abs().max().item() > 0.05
    # B's codes in every block either way: the same values through the same kernels (0 apart in practice);
    # 1e-6 is room for the per-block code tables summing in another order, far below the 0.05 of an edit.
    assert (all_b_by_crossover - all_b).abs().max().item() < 1e-6


def _error_line(capsys, *args: str) -> str:
    code = main(["render", *args])
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_label_ids_beyond_the_label_set_are_one_clear_line(tmp_path, capsys):
    case_dir = _refs("spade_cityscapes")
    bad = tmp_path / "bad_label.png"
    Image.fromarray(np.full((128, 256), 77, np.uint8)).save(bad)
    line = _error_line(
        capsys,
        "--checkpoint",
        str(case_dir / "checkpoints/spade_cityscapes"),
        "--label",
        str(bad),
        "--out",
        str(tmp_path / "o.png"),
    )
    assert "77" in line and "bad_label.png" in line


def test_unreadable_image_is_one_clear_line(tmp_path, capsys):
    case_dir = _refs("spade_cityscapes")
    broken = tmp_path / "broken.png"
    broken.write_bytes((case_dir / "inputs/label_preprocessed.png").read_bytes()[:200])
    line = _error_line(
        capsys,
        "--checkpoint",
        str(case_dir / "checkpoints/spade_cityscapes"),
        "--label",
        str(broken),
        "--out",
        str(tmp_path / "o.png"),
    )
    assert "broken.png" in line


def test_instance_map_of_the_wrong_size_is_one_clear_line(tmp_path, capsys):
    case_dir = _refs("spade_cityscapes")
    small = tmp_path / "inst.png"
    Image.fromarray(np.zeros((10, 20), np.uint16)).save(small)
    line = _error_line(
        capsys,
        "--checkpoint",
        str(case_dir / "checkpoints/spade_cityscapes"),
        "--label",
        str(case_dir / "inputs/label_preprocessed.png"),
        "--instance",
        str(small),
        "--out",
        str(tmp_path / "o.png"),
    )
    assert "size" in line.lower()


def test_style_label_not_matching_its_image_is_one_clear_line(tmp_path, capsys):
    case_dir = _refs("sean_celebahq")
    small_label = tmp_path / "small.png"
    Image.fromarray(np.zeros((64, 32), np.uint8)).save(small_label)  # not even the same aspect
    line = _error_line(
        capsys,
        "--checkpoint",
        str(case_dir / "checkpoints/sean_celebahq"),
        "--label",
        str(case_dir / "inputs/label_preprocessed.png"),
        "--style",
        f"A={case_dir / 'inputs/style_A_preprocessed.png'}:{small_label}",
        "--out",
        str(tmp_path / "o.png"),
    )
    assert "'A'" in line and "32x64" in line


def test_checkpoint_that_is_not_a_checkpoint_is_one_clear_line(tmp_path, capsys):
    fake = tmp_path / "latest_net_G.pth"
    fake.write_bytes(b"not a torch file")
    line = _error_line(capsys, "--checkpoint", str(fake), "--label", str(fake), "--out", str(tmp_path / "o.png"))
    assert "latest_net_G.pth" in line
