"""The procedural demo data: deterministic, label-consistent, style-driven, and written in the training layouts."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO
from tools.demo import dataset, faces, streets
from tools.demo.faces import FaceStyle, make_face, paint_face
from tools.demo.streets import StreetStyle, make_street, paint_street

FACE_SIZE = 128
STREET_WIDTH = 256
SEEDS = range(40)


@cache
def face_batch() -> tuple[faces.FaceSample, ...]:
    return tuple(make_face(seed, FACE_SIZE) for seed in SEEDS)


@cache
def street_batch() -> tuple[streets.StreetSample, ...]:
    return tuple(make_street(seed, STREET_WIDTH) for seed in SEEDS[:30])


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("make", [make_face, make_street], ids=["faces", "streets"])
def test_same_seed_gives_identical_arrays_and_other_seeds_differ(make):
    first, again, other = make(7, 128), make(7, 128), make(8, 128)
    for name in ("photo", "label", "instance"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert first.style == again.style
    assert not np.array_equal(first.photo, other.photo)
    assert not np.array_equal(first.label, other.label)


def test_sample_shapes_and_dtypes():
    face = make_face(0, 96)
    assert face.photo.shape == (96, 96, 3) and face.photo.dtype == np.uint8
    assert face.label.shape == (96, 96) and face.label.dtype == np.uint8
    assert face.instance.dtype == np.int32
    np.testing.assert_array_equal(face.instance, face.label)  # faces have no instances
    street = make_street(0, 256)
    assert street.photo.shape == (128, 256, 3) and street.photo.dtype == np.uint8
    assert street.label.shape == (128, 256) and street.label.dtype == np.uint8
    assert street.instance.shape == (128, 256) and street.instance.dtype == np.int32
    assert make_street(0, (200, 120)).photo.shape == (120, 200, 3)


# ---------------------------------------------------------------- labels and instances


def test_face_labels_use_celebamask_ids_and_show_the_main_parts():
    wanted = {faces.BACKGROUND, faces.SKIN, faces.NOSE, faces.L_EYE, faces.R_EYE, faces.U_LIP, faces.L_LIP, faces.HAIR}
    complete = []
    for sample in face_batch():
        present = set(np.unique(sample.label).tolist())
        assert present <= set(faces.FACE_CLASSES.values())
        complete.append(wanted <= present)
    assert _share(complete) > 0.9


def test_face_accessories_and_hair_styles_vary():
    shapes = [sample.shape for sample in face_batch()]
    assert len({shape.hair for shape in shapes}) >= 4
    assert any(shape.glasses for shape in shapes)
    present = set().union(*(set(np.unique(s.label).tolist()) for s in face_batch()))
    assert {faces.EYE_G, faces.MOUTH, faces.L_EAR, faces.R_EAR, faces.NECK, faces.CLOTH} <= present


def test_street_labels_use_cityscapes_ids_and_show_sky_road_buildings_and_cars():
    complete = []
    for sample in street_batch():
        present = set(np.unique(sample.label).tolist())
        assert present <= set(streets.STREET_CLASSES.values())
        cars = np.unique(sample.instance[sample.label == streets.CAR])
        complete.append({streets.SKY, streets.ROAD, streets.BUILDING} <= present and len(cars) >= 2)
    assert _share(complete) > 0.9
    assert _share([streets.PERSON in np.unique(s.label) for s in street_batch()]) > 0.7


def test_street_instance_ids_follow_cityscapes_and_match_the_labels():
    for sample in street_batch():
        label, instance = sample.label.astype(np.int32), sample.instance
        things = instance >= 1000
        np.testing.assert_array_equal(instance[things] // 1000, label[things])
        np.testing.assert_array_equal(instance[~things], label[~things])
        # Every pixel of a thing class belongs to an instance; stuff never does.
        np.testing.assert_array_equal(np.isin(label, streets.THING_CLASSES), things)


# ---------------------------------------------------------------- style


def test_mean_region_colour_follows_the_face_style():
    for sample in face_batch()[:20]:
        for cls, rgb in ((faces.HAIR, sample.style.hair_rgb), (faces.SKIN, sample.style.skin_rgb)):
            mask = sample.label == cls
            if mask.sum() > 50:
                mean = sample.photo[mask].mean(axis=0)
                assert np.abs(mean - np.array(rgb)).max() < 25, (cls, mean, rgb)


def test_changing_hair_colour_repaints_only_the_hair():
    sample = make_face(3, FACE_SIZE)
    hair = sample.label == faces.HAIR
    before = paint_face(sample.label, sample.style, 11)
    after = paint_face(sample.label, replace(sample.style, hair_rgb=(40, 90, 210)), 11)
    changed = np.any(before != after, axis=2)
    assert not np.any(changed & ~hair)
    assert changed[hair].mean() > 0.95
    assert after[hair].mean(axis=0)[2] > before[hair].mean(axis=0)[2] + 40  # it did turn blue


def test_face_style_drives_regions_the_same_way_on_any_label_map():
    label = make_face(5, FACE_SIZE).label
    blonde = paint_face(label, FaceStyle(hair_rgb=(215, 180, 115)), 0)
    black = paint_face(label, FaceStyle(hair_rgb=(28, 24, 22)), 0)
    hair = label == faces.HAIR
    assert blonde[hair].mean() > black[hair].mean() + 100


def test_changing_one_street_colour_repaints_only_its_class():
    sample = make_street(4, STREET_WIDTH)
    base = paint_street(sample.label, sample.instance, sample.style, 2)
    cases = ((streets.CAR, {"car_palette": ((30, 40, 200),)}), (streets.SKY, {"sky_rgb": (250, 120, 40)}))
    for cls, change in cases:
        repainted = paint_street(sample.label, sample.instance, replace(sample.style, **change), 2)
        changed = np.any(base != repainted, axis=2)
        region = sample.label == cls
        assert changed.any() and not np.any(changed & ~region), cls


def test_car_palette_sets_the_car_colours():
    sample = make_street(6, STREET_WIDTH)
    cars = sample.label == streets.CAR
    red = paint_street(sample.label, sample.instance, replace(sample.style, car_palette=((200, 30, 30),)), 0)
    blue = paint_street(sample.label, sample.instance, replace(sample.style, car_palette=((30, 30, 200),)), 0)
    assert red[cars][:, 0].mean() > blue[cars][:, 0].mean() + 40
    assert blue[cars][:, 2].mean() > red[cars][:, 2].mean() + 40


def test_painters_reject_bad_label_maps():
    with pytest.raises(ValueError):
        paint_face(np.full((8, 8), 40, np.uint8), FaceStyle(), 0)
    with pytest.raises(ValueError):
        paint_street(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.int32), StreetStyle(), 0)


# ---------------------------------------------------------------- files


def _read(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image)


def test_write_dataset_faces_in_the_celebamask_layout_reads_back_identically(tmp_path):
    paths = dataset.write_dataset("faces", tmp_path, count=3, size=64, seed=5)
    assert sorted(p.name for p in (tmp_path / "train" / "images").iterdir()) == [
        "000000.png",
        "000001.png",
        "000002.png",
    ]
    assert len(list((tmp_path / "train" / "labels").iterdir())) == 3
    for index, pair in enumerate(paths):
        sample = dataset.make_sample("faces", [5, index], 64)
        np.testing.assert_array_equal(_read(pair.photo), sample.photo)
        np.testing.assert_array_equal(_read(pair.label), sample.label)
        assert pair.instance is None


def test_write_dataset_streets_in_the_flat_layout_with_16_bit_instances(tmp_path):
    paths = dataset.write_dataset("streets", tmp_path, count=2, size=128, seed=1)
    for folder in ("train_img", "train_label", "train_inst"):
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == ["000000.png", "000001.png"]
    for index, pair in enumerate(paths):
        sample = dataset.make_sample("streets", [1, index], 128)
        np.testing.assert_array_equal(_read(pair.photo), sample.photo)
        np.testing.assert_array_equal(_read(pair.label), sample.label)
        with Image.open(pair.instance) as image:
            assert image.mode.startswith("I")
            instance = np.array(image)
        np.testing.assert_array_equal(instance.astype(np.int32), sample.instance)


def test_written_sets_are_found_by_the_training_layouts(tmp_path):
    layouts = pytest.importorskip("regionpaint.engines.training.layouts")
    dataset.write_dataset("faces", tmp_path / "faces", count=2, size=64)
    dataset.write_dataset("streets", tmp_path / "streets", count=2, size=128)
    dataset.write_dataset("streets", tmp_path / "city", count=2, size=128, layout="cityscapes")
    for folder, layout, instances in (
        ("faces", "celebamask-hq", False),
        ("streets", "flat", True),
        ("city", "cityscapes", True),
    ):
        scan = layouts.scan_layout(tmp_path / folder, "auto")
        assert scan.layout == layout and len(scan.samples) == 2 and not scan.unpaired
        assert scan.has_instances == instances


def test_workers_and_start_do_not_change_the_bytes(tmp_path):
    dataset.write_dataset("faces", tmp_path / "one", count=4, size=48, seed=2)
    dataset.write_dataset("faces", tmp_path / "two", count=4, size=48, seed=2, workers=2)
    dataset.write_dataset("faces", tmp_path / "split", count=2, size=48, seed=2, start=2)
    for name in ("000000.png", "000003.png"):
        assert (tmp_path / "one/train/images" / name).read_bytes() == (
            tmp_path / "two/train/images" / name
        ).read_bytes()
    same = (tmp_path / "one/train/labels/000003.png").read_bytes() == (
        tmp_path / "split/train/labels/000003.png"
    ).read_bytes()
    assert same


def test_write_pair_and_the_command_line(tmp_path):
    pair = dataset.write_pair("streets", tmp_path, seed=3, size=128, stem="demo")
    assert (pair.photo.name, pair.label.name, pair.instance.name) == ("demo.png", "demo_label.png", "demo_inst.png")
    assert _read(pair.label).shape == (64, 128)
    assert dataset.main(["faces", str(tmp_path / "cli"), "--count", "2", "--size", "48", "--jpg"]) == 0
    assert sorted(p.name for p in (tmp_path / "cli/train/images").iterdir()) == ["000000.jpg", "000001.jpg"]
    assert (tmp_path / "cli" / dataset.INFO_FILE).is_file()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        dataset.write_dataset("cats", tmp_path, count=1)
    with pytest.raises(ValueError, match="layout"):
        dataset.write_dataset("faces", tmp_path, count=1, layout="coco")


def test_the_generator_needs_neither_torch_nor_qt():
    code = (
        "import sys, tools.demo, tools.demo.dataset; print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_left_parts_are_on_the_persons_left_like_celebamask_hq():
    """CelebAMask-HQ's l_eye/l_brow/l_ear lie on the image's right (the person's left), as in label 29258."""
    from tools.demo import make_face

    for seed in range(5):
        label = make_face(seed).label
        for left, right in ((4, 5), (6, 7), (8, 9)):
            left_x, right_x = np.nonzero(label == left)[1], np.nonzero(label == right)[1]
            if left_x.size and right_x.size:
                assert left_x.mean() > right_x.mean()
