"""Reading photos, label maps and instance maps, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.model import (
    ImportFileError,
    SizeMismatchError,
    new_document,
    read_instance_map,
    read_label_map,
    read_label_map_and_set,
    read_photo,
)
from regionpaint.app.model.labelsets import ADE20K, CELEBAMASK_HQ, CITYSCAPES

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def cityscapes_ids(height: int = 32, width: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice([7, 8, 11, 21, 23, 24, 26], size=(height, width)).astype(np.uint8)


def save(array: np.ndarray, path: Path, mode: str | None = None) -> Path:
    image = Image.fromarray(array)
    if mode is not None:
        image = image.convert(mode)
    image.save(path)
    return path


def test_index_png_mode_l(tmp_path):
    ids = cityscapes_ids()
    label, label_set = read_label_map_and_set(save(ids, tmp_path / "l.png"))
    np.testing.assert_array_equal(label, ids)
    assert label.dtype == np.uint8 and label_set.id == "cityscapes"


def test_index_png_mode_p_uses_raw_indices_not_palette_colours(tmp_path):
    ids = cityscapes_ids()
    image = Image.fromarray(ids, mode="L").convert("P")
    image.putpalette([(i * 37) % 256 for i in range(768)])  # colours unrelated to the ids
    image.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    label = read_label_map(tmp_path / "p.png", CITYSCAPES)
    np.testing.assert_array_equal(label, ids)


def test_sixteen_bit_instance_png_is_unscaled(tmp_path):
    instance = np.array([[0, 26001, 26002], [7, 65535, 24000]], np.uint16)
    path = save(instance, tmp_path / "inst.png")
    assert Image.open(path).mode.startswith("I")
    read = read_instance_map(path)
    assert read.dtype == np.int32
    np.testing.assert_array_equal(read, instance.astype(np.int32))


def test_eight_bit_instance_png(tmp_path):
    instance = np.array([[0, 3], [255, 9]], np.uint8)
    np.testing.assert_array_equal(read_instance_map(save(instance, tmp_path / "i8.png")), instance)


def test_colour_visualised_label_png(tmp_path):
    ids = np.random.default_rng(1).integers(0, 19, (24, 24)).astype(np.uint8)
    path = save(CELEBAMASK_HQ.to_color(ids), tmp_path / "colour.png")
    label, label_set = read_label_map_and_set(path)  # guessed from its colours
    assert label_set.id == "celebamask-hq"
    np.testing.assert_array_equal(label, ids)
    rgba = np.dstack([CELEBAMASK_HQ.to_color(ids), np.full(ids.shape, 255, np.uint8)])
    label = read_label_map(save(rgba, tmp_path / "rgba.png"), CELEBAMASK_HQ)
    np.testing.assert_array_equal(label, ids)


def test_grey_rgb_is_read_as_an_index_map(tmp_path):
    ids = cityscapes_ids()
    path = save(np.dstack([ids, ids, ids]), tmp_path / "grey.png")
    label, label_set = read_label_map_and_set(path)
    np.testing.assert_array_equal(label, ids)
    assert label_set.id == "cityscapes"


def test_photo_any_format_and_exif_orientation(tmp_path):
    photo = np.zeros((10, 30, 3), np.uint8)
    photo[:, :10] = 255
    image = Image.fromarray(photo)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    read = read_photo(tmp_path / "rotated.jpg")
    assert read.shape == (30, 10, 3) and read.dtype == np.uint8
    assert read[:10].mean() > 200 and read[20:].mean() < 50  # the white band is now on top
    grey = read_photo(save(np.full((5, 6), 9, np.uint8), tmp_path / "grey.png"))
    assert grey.shape == (5, 6, 3) and (grey == 9).all()


def test_corrupt_png_names_the_file(tmp_path):
    ids = np.random.default_rng(0).integers(0, 30, (64, 64)).astype(np.uint8)
    data = (save(ids, tmp_path / "good.png")).read_bytes()
    broken = tmp_path / "truncated_label.png"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportFileError, match="truncated_label.png.*(corrupt|truncated)"):
        read_label_map(broken, CITYSCAPES)
    header_only = tmp_path / "header_only.png"
    header_only.write_bytes(data[:20])
    with pytest.raises(ImportFileError, match="header_only.png"):
        read_photo(header_only)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImportFileError, match="notes.png: not an image"):
        read_instance_map(text)
    with pytest.raises(ImportFileError, match="missing.png: no such file"):
        read_photo(tmp_path / "missing.png")


def test_ids_out_of_range_name_the_file(tmp_path):
    ids = cityscapes_ids()
    ids[0, 0] = 200
    path = save(ids, tmp_path / "outofrange.png")
    with pytest.raises(ImportFileError, match="outofrange.png.*200"):
        read_label_map(path, CITYSCAPES)
    with pytest.raises(ImportFileError, match="outofrange.png"):
        read_label_map(save(np.full((4, 4), 250, np.uint8), tmp_path / "outofrange.png"))  # fits no set


def test_unknown_colours_name_the_file(tmp_path):
    rgb = CITYSCAPES.to_color(cityscapes_ids())
    rgb[0, 0] = (1, 2, 3)
    path = save(rgb, tmp_path / "oddcolours.png")
    with pytest.raises(ImportFileError, match=r"oddcolours.png.*\(1, 2, 3\)"):
        read_label_map(path, CITYSCAPES)
    with pytest.raises(ImportFileError, match="oddcolours.png"):
        read_label_map(path)


def test_wrong_modes_name_the_file(tmp_path):
    la = tmp_path / "greyalpha.png"
    Image.new("LA", (4, 4)).save(la)
    with pytest.raises(ImportFileError, match="greyalpha.png: mode LA"):
        read_label_map(la, CITYSCAPES)
    rgb = save(np.zeros((4, 4, 3), np.uint8), tmp_path / "rgbinstance.png")
    with pytest.raises(ImportFileError, match="rgbinstance.png: mode RGB"):
        read_instance_map(rgb)


def test_new_document_size_mismatch_and_resize(tmp_path):
    ids = cityscapes_ids(32, 48)
    label_path = save(ids, tmp_path / "label.png")
    photo_path = save(np.zeros((64, 96, 3), np.uint8), tmp_path / "photo.png")
    instance_path = save(ids.astype(np.uint16) * 1000, tmp_path / "inst.png")
    with pytest.raises(SizeMismatchError, match="photo.png.*label.png"):
        new_document(photo_path, label_path, instance_path)
    doc = new_document(photo_path, label_path, instance_path, resize=True)
    assert doc.photo.shape == (32, 48, 3) and doc.label_set_id == "cityscapes"
    np.testing.assert_array_equal(doc.instance, ids.astype(np.int32) * 1000)

    small_instance = save(np.zeros((16, 24), np.uint16), tmp_path / "small_inst.png")
    with pytest.raises(SizeMismatchError, match="small_inst.png"):
        new_document(None, label_path, small_instance)


def test_new_document_uses_the_given_label_set(tmp_path):
    ids = cityscapes_ids()
    doc = new_document(None, save(ids, tmp_path / "l.png"), label_set=ADE20K)
    assert doc.label_set_id == "ade20k" and doc.photo is None and doc.instance is None


# -- real samples --------------------------------------------------------------------------
def fixture(*parts: str) -> Path:
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"fixture {path} is not available")
    return path


def test_real_cityscapes_sample():
    name = "aachen_000000_000019"
    doc = new_document(
        fixture("cityscapes", "train_img", f"{name}_leftImg8bit.png"),
        fixture("cityscapes", "train_label", f"{name}_gtFine_labelIds.png"),
        fixture("cityscapes", "train_inst", f"{name}_gtFine_instanceIds.png"),
    )
    assert doc.label_set_id == "cityscapes"
    assert doc.size == (2048, 1024) and doc.photo.shape == (1024, 2048, 3)
    assert doc.instance.dtype == np.int32 and doc.instance.max() >= 24000  # class*1000+k, unscaled
    cars = doc.instance // 1000 == 26
    assert (doc.label[cars] == 26).all()


def test_real_celebahq_colour_map():
    label, label_set = read_label_map_and_set(fixture("celebahq", "colormaps", "29258.png"))
    assert label_set.id == "celebamask-hq" and label.shape == (512, 512)
    reference = FIXTURES.parent / "refs" / "sean_celebahq" / "datasets" / "CelebA-HQ" / "test" / "labels_A"
    index_form = reference / "28083.png"
    if index_form.exists():
        np.testing.assert_array_equal(label, np.asarray(Image.open(index_form)))


def test_a_document_from_a_photo_is_a_photo_edit(tmp_path):
    from regionpaint.app.model.edit_mask import PHOTO_SOURCE

    ids = np.zeros((6, 8), np.uint8)
    ids[2:4, 2:6] = 1
    photo = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "p.png")
    doc = new_document(tmp_path / "p.png", save(ids, tmp_path / "l.png"), label_set=ADE20K)
    assert doc.is_photo_edit and np.array_equal(doc.baseline, doc.label) and doc.baseline is not doc.label
    assert doc.default_style == ((PHOTO_SOURCE, 1.0),) and doc.style_sources[PHOTO_SOURCE].image is doc.photo
    assert doc.history.entries == []  # what the document is made from, not an edit
    assert not new_document(None, save(ids, tmp_path / "l2.png"), label_set=ADE20K).is_photo_edit
