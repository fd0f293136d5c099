"""``render --photo`` and ``render --project`` of a photo edit: the photo stays, only the edit goes in.

Real renders with the bundled demo checkpoints; the photos are the face demo's and the fixtures'
(CelebA-HQ 1024², Cityscapes 2048x1024). Outside the grown edit mask plus the band the output must be
the photo bit for bit; inside the mask minus the band, the render upsampled to the photo's size.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from regionpaint.app.cli import main
from regionpaint.app.model.edit_mask import DEFAULT_REACH, disk, grow_mask, reach_in_pixels
from regionpaint.app.model.project import open_project
from regionpaint.app.render.composite import upsample_render
from tests.conftest import require_shared

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
MODELS = DEMO / "models"
HAIR, SKIN, HAT = 13, 1, 14
ROAD, CAR = 7, 26


def _demo(name: str) -> Path:
    path = DEMO / name
    if not path.is_file():
        pytest.skip(f"{path} is not built (python -m tools.demo.build)")
    return path


def render(tmp_path: Path, name: str, *flags: str) -> np.ndarray:
    out = tmp_path / name
    assert main(["render", "--device", "cpu", "--out", str(out), *flags]) == 0
    return np.asarray(Image.open(out).convert("RGB"))


def regions(changed: np.ndarray, photo_size: tuple[int, int], render_size: tuple[int, int], band: int):
    """(outside, inside): pixels that must be the photo's / the render's, from the ungrown changed pixels."""
    grown = grow_mask(changed, reach_in_pixels(photo_size, render_size, DEFAULT_REACH))
    reach = band // 2 + 1
    outside = ~cv2.dilate(grown.astype(np.uint8), disk(reach)).astype(bool)
    inside = cv2.erode(grown.astype(np.uint8), disk(reach), borderValue=1).astype(bool)
    return outside, inside


def assert_composite(output, photo, raw, changed, band) -> None:
    height, width = photo.shape[:2]
    assert output.shape == photo.shape
    outside, inside = regions(changed, (width, height), (raw.shape[1], raw.shape[0]), band)
    assert outside.mean() > 0.3 and inside.any()
    assert np.abs(output[outside].astype(int) - photo[outside]).max() == 0
    up = upsample_render(raw, (width, height))
    assert np.abs(output[inside].astype(int) - up[inside]).max() == 0
    # And the edit did go in: the inside is not the photo.
    assert np.abs(output[inside].astype(int) - photo[inside]).mean() > 5


@pytest.mark.parametrize("mode", ["feather", "seamless"])
def test_demo_hair_restyle_keeps_the_photo_outside_the_hair(tmp_path, mode):
    project = _demo("faces.rpaint")
    doc = open_project(project)
    assert doc.is_photo_edit, "the face demo opens as a photo being edited"
    flags = ["--project", str(project), "--region-style", "hair=B", "--no-harmonize"]
    raw = render(tmp_path, "raw.png", *flags, "--composite", "off")
    output = render(tmp_path, "out.png", *flags, "--composite", mode, "--feather", "8")
    assert raw.shape[0] < doc.photo.shape[0]  # the network renders smaller than the photo
    assert_composite(output, doc.photo, raw, doc.label == HAIR, 8)


def test_an_unedited_demo_renders_as_the_photo_itself(tmp_path):
    project = _demo("faces.rpaint")
    output = render(tmp_path, "out.png", "--project", str(project))
    np.testing.assert_array_equal(output, open_project(project).photo)


def _write(array: np.ndarray, path: Path) -> Path:
    Image.fromarray(array).save(path)
    return path


def test_celebahq_photo_at_1024_hair_to_hat_and_skin_restyle(tmp_path):
    data = require_shared("refs", "sean_celebahq", "datasets", "CelebA-HQ", "test")
    photo_path = require_shared("fixtures", "celebahq", "styles", "28083.jpg")
    colour_label = require_shared("fixtures", "celebahq", "colormaps", "29258.png")  # colour form of 28083
    photo = np.asarray(Image.open(photo_path).convert("RGB"))
    baseline = np.asarray(Image.open(data / "labels_A" / "28083.png"))
    edited = baseline.copy()
    rows = np.nonzero((baseline == HAIR).any(1))[0]
    top = rows.min() + (rows.max() - rows.min()) // 3
    edited[:top][baseline[:top] == HAIR] = HAT
    edited_path = _write(edited, tmp_path / "edited.png")
    demo = open_project(_demo("faces.rpaint"))
    b = demo.style_sources["B"]
    style = f"B={_write(b.image, tmp_path / 'b.png')}:{_write(b.label, tmp_path / 'b_label.png')}"
    common = ["--checkpoint", str(MODELS / "sean_faces.safetensors"), "--photo", str(photo_path)]
    common += ["--photo-label", str(colour_label), "--label", str(edited_path), "--style", style]
    common += ["--region-style", "skin=B", "--seed", "0"]
    raw = render(tmp_path, "raw.png", *common, "--composite", "off")
    output = render(tmp_path, "out.png", *common, "--feather", "24")
    assert output.shape == (1024, 1024, 3)
    big = lambda ids: cv2.resize(ids, (1024, 1024), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    changed = big((edited != baseline).astype(np.uint8)).astype(bool) | (big(edited) == SKIN)
    assert_composite(output, photo, raw, changed, 24)


def test_cityscapes_road_patch_to_car_at_2048(tmp_path):
    fixtures = require_shared("fixtures", "cityscapes")
    image = sorted((fixtures / "train_img").glob("*.png"))[0]
    stem = image.name.replace("_leftImg8bit.png", "")
    label_path = fixtures / "train_label" / f"{stem}_gtFine_labelIds.png"
    instance_path = fixtures / "train_inst" / f"{stem}_gtFine_instanceIds.png"
    label, instance = np.asarray(Image.open(label_path)), np.asarray(Image.open(instance_path)).astype(np.int32)
    photo = np.asarray(Image.open(image).convert("RGB"))
    height, width = label.shape
    patch = np.zeros_like(label, dtype=bool)
    patch[int(height * 0.80) : int(height * 0.95), int(width * 0.35) : int(width * 0.55)] = True
    patch &= label == ROAD
    edited, edited_instance = label.copy(), instance.copy()
    edited[patch], edited_instance[patch] = CAR, CAR * 1000 + 99
    common = ["--checkpoint", str(MODELS / "spade_streets.safetensors"), "--photo", str(image)]
    common += ["--photo-label", str(label_path), "--photo-instance", str(instance_path), "--seed", "0"]
    common += ["--label", str(_write(edited, tmp_path / "l.png"))]
    common += ["--instance", str(_write(edited_instance.astype(np.uint16), tmp_path / "i.png"))]
    raw = render(tmp_path, "raw.png", *common, "--composite", "off")
    output = render(tmp_path, "out.png", *common, "--composite", "seamless", "--feather", "32")
    assert output.shape == (1024, 2048, 3) and raw.shape[1] < 2048
    changed = (edited != label) | (edited_instance != instance)
    assert_composite(output, photo, raw, changed, 32)


def test_photo_without_its_segmentation_is_a_clear_error(tmp_path, capsys):
    photo = _write(np.zeros((8, 8, 3), np.uint8), tmp_path / "p.png")
    code = main(
        ["render", "--checkpoint", str(MODELS / "sean_faces.safetensors"), "--photo", str(photo)]
        + ["--out", str(tmp_path / "o.png")]
    )
    assert code == 2
    assert "--photo needs --photo-label" in capsys.readouterr().err


def test_a_label_edit_on_the_demo_project_composites_from_its_baseline(tmp_path):
    """``render --project --label EDITED``: hair -> hat in the top third of the hair; the rest stays the photo."""
    project = _demo("faces.rpaint")
    doc = open_project(project)
    edited = doc.baseline.copy()
    rows = np.nonzero((doc.baseline == HAIR).any(1))[0]
    top = rows.min() + (rows.max() - rows.min()) // 3
    edited[:top][doc.baseline[:top] == HAIR] = HAT
    label = _write(edited, tmp_path / "hat.png")
    flags = ["--project", str(project), "--label", str(label), "--no-harmonize"]
    raw = render(tmp_path, "raw.png", *flags, "--composite", "off")
    output = render(tmp_path, "out.png", *flags)  # the project's own mode: feather, band 12
    assert_composite(output, doc.photo, raw, edited != doc.baseline, doc.composite.band)
