"""`regionpaint export-labels`: Cityscapes / COCO-Stuff maps as ADE20K segmentation images, unmapped reported."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.cli import main
from regionpaint.app.model.label_mapping import LabelMappingError, available_mappings, load_mapping
from regionpaint.app.model.labelsets import ADE20K, CELEBAMASK_HQ, CITYSCAPES, COCO_STUFF


@pytest.mark.parametrize("source", [CITYSCAPES, COCO_STUFF])
def test_every_source_class_has_an_entry_and_targets_are_ade20k_classes(source):
    mapping = load_mapping(source, ADE20K)
    for class_id, name in enumerate(source.names):
        target = int(mapping.lut[class_id])
        if class_id in mapping.unmapped_ids:
            assert target == ADE20K.dontcare_id
        else:
            assert 0 <= target < ADE20K.num_classes, name
    assert ("cityscapes", "ade20k") in available_mappings() and ("coco-stuff", "ade20k") in available_mappings()


def test_cityscapes_classes_become_the_ade20k_classes_of_the_same_meaning():
    mapping = load_mapping(CITYSCAPES, ADE20K)
    ids = np.array([[CITYSCAPES.id_of(n) for n in ("road", "car", "sky", "vegetation", "motorcycle", "ego vehicle")]])
    converted, unmapped = mapping.convert(ids.astype(np.uint8))
    names = [ADE20K.names[i] if i < ADE20K.num_classes else None for i in converted[0]]
    assert names == ["road", "car", "sky", "tree", "minibike", None]
    assert unmapped == {CITYSCAPES.id_of("ego vehicle"): 1}


def test_coco_stuff_dont_care_stays_unlabeled_and_is_not_reported():
    mapping = load_mapping(COCO_STUFF, ADE20K)
    ids = np.array([[0, 255, COCO_STUFF.id_of("wall-brick"), COCO_STUFF.id_of("snow")]], np.uint8)
    converted, unmapped = mapping.convert(ids)
    assert converted.tolist() == [[ADE20K.id_of("person"), 255, ADE20K.id_of("wall"), 255]]
    assert unmapped == {COCO_STUFF.id_of("snow"): 1}


def test_no_table_for_a_pair_is_a_clear_error():
    with pytest.raises(LabelMappingError, match="no label mapping from celebamask-hq to ade20k"):
        load_mapping(CELEBAMASK_HQ, ADE20K)


def test_command_writes_ade20k_colours_mirroring_the_tree_and_reports_unmapped(tmp_path, capsys):
    folder = tmp_path / "labels" / "val" / "x"
    folder.mkdir(parents=True)
    label = np.zeros((4, 6), np.uint8)
    label[:2] = CITYSCAPES.id_of("road")
    label[2:, :3] = CITYSCAPES.id_of("sky")
    label[2:, 3:] = CITYSCAPES.id_of("rail track")
    Image.fromarray(label).save(folder / "a.png")
    Image.fromarray(CITYSCAPES.to_color(label)).save(folder / "b.png")  # colour-coded input works too
    (folder / "c.png").write_bytes(b"broken")
    out = tmp_path / "seg"
    code = main(
        ["export-labels", "--labels", str(tmp_path / "labels"), "--from", "cityscapes", "--out", str(out), "--json"]
    )
    assert code == 1  # one broken file, reported, the others written
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 2 and summary["unmapped"] == {"rail track": 12}
    assert summary["failed"][0][0].endswith("c.png")
    for name in ("a.png", "b.png"):
        rgb = np.asarray(Image.open(out / "val" / "x" / name).convert("RGB"))
        assert tuple(rgb[0, 0]) == ADE20K.colors[ADE20K.id_of("road")]
        assert tuple(rgb[3, 0]) == ADE20K.colors[ADE20K.id_of("sky")]
        assert tuple(rgb[3, 5]) == (0, 0, 0)
