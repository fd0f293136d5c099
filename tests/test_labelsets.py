"""Label sets: official names/colours, index <-> colour conversion, error messages and guessing."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.model.labelsets import (
    ADE20K,
    BUILTIN_LABEL_SETS,
    CELEBAMASK_HQ,
    CITYSCAPES,
    COCO_STUFF,
    LabelIdError,
    LabelSet,
    UnknownColorsError,
    guess_label_set,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures"
CELEBA_COLORMAP = FIXTURES / "celebahq/colormaps/29258.png"
CELEBA_INDEX = SHARED / "refs/sean_celebahq/datasets/CelebA-HQ/test/labels_A/28083.png"


def _fixture_paths(pattern: str) -> list[Path]:
    paths = sorted(FIXTURES.glob(pattern))
    if not paths:
        pytest.skip(f"fixtures {pattern} not found under {FIXTURES}")
    return paths


@cache
def _load(path: Path, mode: str | None = None) -> np.ndarray:
    image = Image.open(path)
    return np.array(image.convert(mode) if mode else image)


def _celeba_pair() -> tuple[np.ndarray, np.ndarray]:
    if not (CELEBA_COLORMAP.exists() and CELEBA_INDEX.exists()):
        pytest.skip("CelebAMask-HQ colour map / index map fixtures not found")
    return _load(CELEBA_COLORMAP, "RGB"), _load(CELEBA_INDEX)


def _lowest_id_with_same_color(label_set: LabelSet) -> np.ndarray:
    """(256,) lut: id -> lowest id sharing its colour (what a colour round trip can give back)."""
    lut = np.arange(256)
    for i, color in enumerate(label_set.colors):
        lut[i] = label_set.colors.index(color)
    return lut


# ------------------------------------------------------------------------ tables


@pytest.mark.parametrize(
    ("label_set", "num_classes", "dontcare"),
    [(CELEBAMASK_HQ, 19, None), (CITYSCAPES, 35, None), (ADE20K, 150, 255), (COCO_STUFF, 182, 255)],
)
def test_sizes_and_valid_ids(label_set: LabelSet, num_classes: int, dontcare: int | None) -> None:
    assert label_set.num_classes == num_classes == len(label_set.names) == len(label_set.colors)
    assert label_set.dontcare_id == dontcare
    expected = list(range(num_classes)) + ([dontcare] if dontcare is not None else [])
    assert label_set.valid_ids().tolist() == expected


def test_builtin_ids_are_unique_and_stable() -> None:
    assert [s.id for s in BUILTIN_LABEL_SETS] == ["celebamask-hq", "cityscapes", "ade20k", "coco-stuff"]


def test_official_names_and_colours_spot_checks() -> None:
    # Cityscapes labels.py
    assert CITYSCAPES.names[7] == "road" and CITYSCAPES.colors[7] == (128, 64, 128)
    assert CITYSCAPES.names[26] == "car" and CITYSCAPES.colors[26] == (0, 0, 142)
    assert CITYSCAPES.names[33] == "bicycle" and CITYSCAPES.colors[33] == (119, 11, 32)
    assert CITYSCAPES.names[34] == "license plate" and CITYSCAPES.colors[34] == (0, 0, 142)
    # SEAN ui/util.py: the classes absent from the fixture map
    assert CELEBAMASK_HQ.colors[3] == (204, 204, 0)  # eye_g
    assert CELEBAMASK_HQ.colors[14:17] == ((255, 51, 153), (0, 204, 204), (0, 51, 0))  # hat, ear_r, neck_l
    # ADE20K network ids (raw PNG value - 1) and color150
    assert ADE20K.names[:5] == ("wall", "building", "sky", "floor", "tree")
    assert ADE20K.colors[0] == (120, 120, 120) and ADE20K.colors[149] == (92, 0, 255)
    assert ADE20K.names[149] == "flag"
    # COCO-Stuff: labels.txt entry i + 1, SPADE's labelcolormap(182)
    assert COCO_STUFF.names[0] == "person" and COCO_STUFF.names[11] == "street sign"
    assert COCO_STUFF.names[181] == "wood" and COCO_STUFF.names[154] == "sea"
    assert COCO_STUFF.colors[:3] == ((128, 0, 0), (0, 128, 0), (128, 128, 0))
    assert COCO_STUFF.colors[154] == (54, 62, 167) and COCO_STUFF.colors[156] == (95, 219, 255)


def test_name_of_and_id_of() -> None:
    assert CELEBAMASK_HQ.id_of("hair") == CELEBAMASK_HQ.id_of("Hair") == CELEBAMASK_HQ.id_of("13") == 13
    assert CELEBAMASK_HQ.id_of(13) == CELEBAMASK_HQ.id_of(np.uint8(13)) == 13
    assert CELEBAMASK_HQ.id_of("Eye G") == 3
    assert CITYSCAPES.id_of("traffic_light") == 19
    assert COCO_STUFF.id_of("sky other") == 156
    assert COCO_STUFF.id_of("255") == COCO_STUFF.id_of("don't care") == 255
    assert CELEBAMASK_HQ.name_of(13) == "hair"
    assert ADE20K.name_of(255) == "don't care"
    with pytest.raises(LabelIdError):
        CELEBAMASK_HQ.name_of(19)


def test_id_of_unknown_name_suggests_close_names() -> None:
    with pytest.raises(KeyError, match="hair") as info:
        CELEBAMASK_HQ.id_of("hiar")
    assert "CelebAMask-HQ" in str(info.value)
    with pytest.raises(KeyError, match="19"):
        CELEBAMASK_HQ.id_of(19)
    with pytest.raises(KeyError):
        CITYSCAPES.id_of("255")  # Cityscapes has no don't-care id


# ------------------------------------------------------------------------ conversions


def test_celeba_official_colormap_inverts_to_reference_index_map() -> None:
    rgb, index = _celeba_pair()
    ids = CELEBAMASK_HQ.from_color(rgb, source=CELEBA_COLORMAP.name)
    assert ids.dtype == np.uint8 and ids.shape == index.shape
    np.testing.assert_array_equal(ids, index)


def test_celeba_index_map_renders_to_official_colormap() -> None:
    rgb, index = _celeba_pair()
    colors = CELEBAMASK_HQ.to_color(index)
    assert colors.dtype == np.uint8 and colors.shape == (*index.shape, 3)
    np.testing.assert_array_equal(colors, rgb)


def test_cityscapes_fixture_ids_are_valid() -> None:
    for path in _fixture_paths("cityscapes/*_label/*_gtFine_labelIds.png"):
        CITYSCAPES.check_ids(_load(path), source=path.name)


def test_cityscapes_round_trip_keeps_ids_up_to_shared_colours() -> None:
    index = _load(_fixture_paths("cityscapes/train_label/*_gtFine_labelIds.png")[0])
    back = CITYSCAPES.from_color(CITYSCAPES.to_color(index))
    # ego vehicle / rectification border / out of roi / static come back as unlabeled (all black).
    np.testing.assert_array_equal(back, _lowest_id_with_same_color(CITYSCAPES)[index])
    assert np.isin(index, [1, 2, 3, 4]).any()  # the fixture really exercises the shared colour


def test_coco_stuff_fixtures_are_valid_and_round_trip_exactly() -> None:
    for path in _fixture_paths("coco_stuff/*_label/*.png"):
        index = _load(path)
        COCO_STUFF.check_ids(index, source=path.name)
        np.testing.assert_array_equal(COCO_STUFF.from_color(COCO_STUFF.to_color(index)), index)


def test_dontcare_is_drawn_black_and_comes_back() -> None:
    index = np.array([[0, 255], [149, 6]], dtype=np.uint8)
    colors = ADE20K.to_color(index)
    assert colors[0, 1].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(ADE20K.from_color(colors), index)
    # ADE20K's road and skyscraper share (140, 140, 140): the lower id wins.
    assert ADE20K.from_color(ADE20K.to_color(np.array([[48]]))).tolist() == [[6]]


def test_from_color_uses_uint16_when_ids_exceed_255() -> None:
    big = LabelSet("big", "Big", tuple(f"c{i}" for i in range(300)), tuple((i % 256, i // 256, 7) for i in range(300)))
    index = np.array([[0, 299], [256, 17]], dtype=np.uint16)
    back = big.from_color(big.to_color(index))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, index)


def test_unknown_colours_are_listed_with_counts_and_source() -> None:
    rgb = CELEBAMASK_HQ.to_color(np.zeros((8, 8), np.uint8))
    rgb[:2, :3] = (1, 2, 3)
    rgb[7, 7] = (250, 250, 250)
    with pytest.raises(UnknownColorsError) as info:
        CELEBAMASK_HQ.from_color(rgb, source="face.png")
    message = str(info.value)
    assert "face.png" in message and "CelebAMask-HQ" in message
    assert "(1, 2, 3) (6 px)" in message and "(250, 250, 250) (1 px)" in message
    assert info.value.colors == [((1, 2, 3), 6), ((250, 250, 250), 1)]


def test_unknown_colour_above_every_palette_key_is_caught() -> None:
    # (255, 255, 255) packs above COCO-Stuff's largest colour key: searchsorted points past the end.
    with pytest.raises(UnknownColorsError, match="255, 255, 255"):
        COCO_STUFF.from_color(np.full((2, 2, 3), 255, np.uint8))


def test_out_of_range_ids_raise_label_id_error_naming_them() -> None:
    index = np.array([[0, 19, 19], [200, 5, -1]], dtype=np.int32)
    with pytest.raises(LabelIdError) as info:
        CELEBAMASK_HQ.check_ids(index, source="mask.png")
    assert info.value.ids == [-1, 19, 200]
    assert "mask.png" in str(info.value) and "19 (2 px)" in str(info.value) and "200" in str(info.value)
    with pytest.raises(LabelIdError, match="255"):
        CITYSCAPES.to_color(np.array([[255]], np.uint8))
    ADE20K.check_ids(np.array([[0, 149, 255]], np.uint8))  # valid: no error


def test_present_ids_reports_shares_sorted_by_id() -> None:
    index = np.array([[13, 13, 0, 255]], dtype=np.uint8)
    assert ADE20K.present_ids(index) == [(0, 0.25), (13, 0.5), (255, 0.25)]


def test_full_size_conversion_is_fast() -> None:
    index = np.random.default_rng(0).integers(0, 35, size=(1024, 2048), dtype=np.uint8)
    start = time.perf_counter()
    back = CITYSCAPES.from_color(CITYSCAPES.to_color(index))
    elapsed = time.perf_counter() - start
    assert back.shape == index.shape
    assert elapsed < 1.0, f"2048x1024 round trip took {elapsed:.2f} s"


# ------------------------------------------------------------------------ guessing


def test_guess_from_index_maps() -> None:
    _, celeba = _celeba_pair()
    assert guess_label_set(index_map=celeba) is CELEBAMASK_HQ
    for path in _fixture_paths("cityscapes/train_label/*_gtFine_labelIds.png"):
        assert guess_label_set(index_map=_load(path)) is CITYSCAPES, path.name
    # Includes maps whose ids are all < 150 (e.g. only 78 and 255): the don't-care pixels point to COCO.
    for path in _fixture_paths("coco_stuff/*_label/*.png"):
        assert guess_label_set(index_map=_load(path)) is COCO_STUFF, path.name


def test_guess_from_colour_maps() -> None:
    rgb, _ = _celeba_pair()
    assert guess_label_set(rgb=rgb) is CELEBAMASK_HQ
    city = _load(_fixture_paths("cityscapes/train_label/*_gtFine_labelIds.png")[0])
    assert guess_label_set(rgb=CITYSCAPES.to_color(city)) is CITYSCAPES
    ade = np.arange(150, dtype=np.uint8).reshape(10, 15)
    assert guess_label_set(rgb=ADE20K.to_color(ade)) is ADE20K


def test_guess_returns_none_when_nothing_fits() -> None:
    assert guess_label_set(index_map=np.array([[300]])) is None
    assert guess_label_set(rgb=np.full((2, 2, 3), (1, 2, 3), np.uint8)) is None
    with pytest.raises(ValueError):
        guess_label_set()
