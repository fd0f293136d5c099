"""Dataset layouts, up-front validation, the official training transforms and the Dataset items."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
from PIL import Image

from regionpaint.engines.training.datasets import PairedDataset, ResumableSampler, map_label_ids
from regionpaint.engines.training.layouts import detect_layout, scan_layout
from regionpaint.engines.training.options import resolve_options
from regionpaint.engines.training.synthetic import write_dataset
from regionpaint.engines.training.transforms import Params, Preprocess, apply, draw_params
from regionpaint.engines.training.validation import validate_dataset
from tests.conftest import require_shared


@pytest.mark.parametrize("layout", ["flat", "custom", "cityscapes", "celebamask-hq", "ade20k"])
def test_layouts_are_detected_and_paired(tmp_path, layout):
    write_dataset(tmp_path, layout, count=3, size=(32, 32))
    detected = detect_layout(tmp_path)
    assert detected == layout
    scan = scan_layout(tmp_path, "auto")
    assert scan.layout == layout and len(scan.samples) == 3 and not scan.unpaired
    assert scan.has_instances == (layout in ("flat", "custom", "cityscapes"))
    for sample in scan.samples:
        assert sample.label.is_file() and sample.image.is_file()


def test_validation_reports_unpaired_files_bad_ids_and_size_mismatches(tmp_path):
    write_dataset(tmp_path, "custom", count=5, size=(32, 32), label_nc=6)
    (tmp_path / "images" / "sample_0000.jpg").unlink()  # a label without its photo
    Image.new("RGB", (32, 32)).save(tmp_path / "images" / "stray.jpg")  # a photo without a label
    Image.new("RGB", (48, 32)).save(tmp_path / "images" / "sample_0001.jpg")  # another aspect ratio
    Image.new("RGB", (64, 64)).save(tmp_path / "images" / "sample_0002.jpg")  # same picture, bigger: fine
    bad = np.zeros((32, 32), np.uint8)
    bad[0, :3] = [7, 9, 255]
    Image.fromarray(bad).save(tmp_path / "labels" / "sample_0003.png")
    Image.new("RGB", (32, 32)).save(tmp_path / "labels" / "sample_0004.png")  # colour-coded: not an index map

    report = validate_dataset(tmp_path, "custom", label_nc=6)
    assert not report.ok
    assert report.pairs == 4
    assert {(i.path.name, i.message) for i in report.unpaired} == {
        ("sample_0000.png", "label map without a photo"),
        ("stray.jpg", "photo without a label map"),
    }
    assert [i.path.name for i in report.size_mismatches] == ["sample_0001.jpg"]
    assert [i.path.name for i in report.rescaled] == ["sample_0002.jpg"]
    bad = [(i.path.name, i.message) for i in report.bad_ids]
    assert bad == [("sample_0003.png", "label ids 7, 9, 255 out of range")]
    assert [i.path.name for i in report.unreadable] == ["sample_0004.png"]
    summary = report.summary()
    assert "label ids out of range (1)" in summary and "stray.jpg" in summary

    with_dontcare = validate_dataset(tmp_path, "custom", label_nc=10, contain_dontcare_label=True)
    assert not with_dontcare.bad_ids


def test_validation_suggests_label_nc_and_limits_pixel_reads(tmp_path):
    write_dataset(tmp_path, "flat", count=4, size=(32, 32), label_nc=12)
    report = validate_dataset(tmp_path)
    assert report.ok and report.layout == "flat" and report.checked == 4
    assert 2 <= report.suggested_label_nc() <= 12 and not report.has_dontcare
    assert report.to_dict()["pairs"] == 4 and report.to_dict()["ok"] and report.to_dict()["bad_ids"] == []
    quick = validate_dataset(tmp_path, max_pixel_checks=1)
    assert quick.checked == 1 and quick.pairs == 4
    missing = validate_dataset(tmp_path / "nowhere")
    assert not missing.ok and "dataset folder not found" in missing.errors[0]
    (tmp_path / "empty").mkdir()
    assert "no known dataset layout" in validate_dataset(tmp_path / "empty").errors[0]


def test_ade20k_ids_shift_with_zero_as_dontcare(tmp_path):
    write_dataset(tmp_path, "ade20k", count=2, size=(32, 32), label_nc=5)
    opt = resolve_options("spade", tmp_path, tmp_path / "run", {"label_nc": 150}, "ade20k")
    raw = np.array([[0, 1, 150]], np.uint8)
    assert map_label_ids(raw, opt).tolist() == [[150, 0, 149]]  # 0 -> 255 -> label_nc (don't care)
    assert validate_dataset(tmp_path, "ade20k", label_nc=150, contain_dontcare_label=True).ok
    raw_opt = resolve_options("spade", tmp_path, tmp_path / "run", {"label_nc": 151, "ade20k_raw_ids": True}, "ade20k")
    assert map_label_ids(raw, raw_opt).tolist() == [[0, 1, 150]]


def test_official_transforms():
    label = np.arange(40 * 80, dtype=np.int32).reshape(40, 80) % 250
    crop = Preprocess("resize_and_crop", load_size=36, crop_size=32)
    params = draw_params(crop, (80, 40), random.Random(0))
    assert 0 <= params.crop_pos[0] <= 4 and 0 <= params.crop_pos[1] <= 4
    assert apply(crop, label.astype(np.uint8), params).shape == (32, 32)
    fixed = Preprocess("fixed", load_size=64, crop_size=64, aspect_ratio=2.0)
    assert apply(fixed, label.astype(np.uint8), Params((0, 0), False)).shape == (32, 64)
    width = Preprocess("scale_width", load_size=40, crop_size=32, crop_only_if_larger=True)
    assert apply(width, label.astype(np.uint8), Params((0, 0), False)).shape == (20, 40)
    flipped = apply(Preprocess("none", 80, 80, power_base=8), label.astype(np.uint8), Params((0, 0), True))
    assert np.array_equal(flipped, label.astype(np.uint8)[:, ::-1])
    photo = np.zeros((40, 80, 3), np.uint8)
    assert apply(crop, photo, params).shape == (32, 32, 3)


def test_dataset_items_and_sharded_resumable_sampler(tmp_path):
    write_dataset(tmp_path, "flat", count=6, size=(40, 40), label_nc=5)
    opt = resolve_options("spade", tmp_path, tmp_path / "run", {"crop_size": 32, "label_nc": 5, "batchSize": 2}, "flat")
    samples = scan_layout(tmp_path, "flat").samples
    dataset = PairedDataset(samples, opt, seed=3)
    item = dataset[0]
    assert item["label"].shape == (1, 32, 32) and item["label"].dtype.is_floating_point is False
    assert item["instance"].shape == (1, 32, 32) and int(item["instance"].max()) >= 1000
    assert item["image"].shape == (3, 32, 32) and -1 <= float(item["image"].min()) <= float(item["image"].max()) <= 1
    again = PairedDataset(samples, opt, seed=3)[0]
    assert (again["image"] == item["image"]).all()  # same (seed, epoch, index): same crop and flip

    shards = [ResumableSampler(dataset, 2, rank, seed=1) for rank in (0, 1)]
    for sampler in shards:
        sampler.set_epoch(4)
    first, second = list(shards[0]), list(shards[1])
    assert len(first) == len(second) == 3 and not set(first) & set(second)
    shards[0].set_epoch(4, skip=2)
    assert list(shards[0]) == first[2:] and len(shards[0]) == 1


def test_real_cityscapes_and_coco_samples(tmp_path):
    city = require_shared("fixtures", "cityscapes")
    report = validate_dataset(city, "flat", label_nc=35)
    assert report.ok and report.pairs == 8 and report.has_instances
    assert max(report.label_ids) < 35
    coco = require_shared("fixtures", "coco_stuff")
    coco_report = validate_dataset(coco, "coco-stuff", label_nc=182, contain_dontcare_label=True)
    assert coco_report.ok and coco_report.pairs == len(list((coco / "train_label").iterdir()))
    unpaired = {i.message for i in coco_report.unpaired}
    assert unpaired <= {"photo without a label map", "instance map without a label map"}


def test_real_celebamask_hq_pair(tmp_path):
    """SEAN's layout with CelebA-HQ's 1024 photos and 512 label maps: valid (rescaled, not mismatched)."""
    refs = require_shared("refs", "sean_celebahq", "datasets", "CelebA-HQ", "test")
    for name, part in (("28083", "A"), ("28090", "B")):
        (tmp_path / "train" / "images").mkdir(parents=True, exist_ok=True)
        (tmp_path / "train" / "labels").mkdir(parents=True, exist_ok=True)
        shutil.copy(refs / f"images_{part}" / f"{name}.jpg", tmp_path / "train" / "images")
        shutil.copy(refs / f"labels_{part}" / f"{name}.png", tmp_path / "train" / "labels")
    report = validate_dataset(tmp_path, "auto", label_nc=19)
    assert report.layout == "celebamask-hq" and report.ok and report.pairs == 2 and len(report.rescaled) == 2
