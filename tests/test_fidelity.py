"""Label fidelity: the scores on maps with known IoU, pairing renders with labels, and `regionpaint evaluate`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.app.model.fidelity import confusion, region_iou
from regionpaint.app.segmentation import pair_folders, pairing_key
from regionpaint.plugins.manager import LOAD_PLUGINS_ENV
from tests.conftest import REPO
from tests.test_segmenters import random_state


def test_scores_on_maps_with_known_iou():
    truth = np.zeros((10, 10), np.uint8)
    truth[:, 5:] = 1  # class 1: right half (50 px)
    predicted = np.zeros((10, 10), np.uint8)
    predicted[:, 4:] = 1  # one column too many: class 1 IoU 50/60, class 0 IoU 40/50
    score = confusion(predicted, truth, [0, 1])
    assert score.per_class_iou == pytest.approx({0: 40 / 50, 1: 50 / 60})
    assert score.miou == pytest.approx((0.8 + 50 / 60) / 2)
    assert score.pixel_accuracy == pytest.approx(0.9)


def test_uncounted_truth_is_ignored_and_uncounted_predictions_are_wrong():
    truth = np.array([[7, 7, 0, 0]], np.uint8)  # 0 is not evaluated (like Cityscapes "unlabeled")
    predicted = np.array([[7, 5, 7, 7]], np.uint8)  # 5 is not evaluated either
    score = confusion(predicted, truth, [7, 8])
    assert score.pixels == 2  # the two pixels whose truth is 0 do not count
    assert score.pixel_accuracy == pytest.approx(0.5)
    assert score.per_class_iou == {7: pytest.approx(0.5)}  # 8 occurs nowhere: not in the mean
    assert score.miou == pytest.approx(0.5)


def test_scores_add_up_over_images_like_one_confusion_matrix():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, (2, 8, 8)), rng.integers(0, 3, (2, 8, 8))
    summed = confusion(a[0], b[0], [0, 1, 2]) + confusion(a[1], b[1], [0, 1, 2])
    together = confusion(a.reshape(16, 8), b.reshape(16, 8), [0, 1, 2])
    assert np.array_equal(summed.confusion, together.confusion)


def test_region_iou_reports_every_region_of_the_map():
    truth = np.zeros((4, 4), np.uint8)
    truth[0, 0] = 3
    predicted = np.zeros((4, 4), np.uint8)
    assert region_iou(predicted, truth) == {0: pytest.approx(15 / 16), 3: 0.0}
    with pytest.raises(ValueError, match="differ in size"):
        confusion(predicted, truth[:2], [0])


def test_renders_pair_with_labels_by_name(tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "images").mkdir()
    for name in ("a_gtFine_labelIds.png", "b.png", "c.png"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "labels" / name)
    for name in ("a_leftImg8bit.png", "b.jpg"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / name)
    pairs = pair_folders(tmp_path / "labels", tmp_path / "images")
    assert [(label.name, image.name) for label, image in pairs] == [
        ("a_gtFine_labelIds.png", "a_leftImg8bit.png"),
        ("b.png", "b.jpg"),
    ]
    assert pairing_key(tmp_path / "x_synthesized_image.png") == "x"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", LOAD_PLUGINS_ENV: "", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )


def test_cli_segment_and_evaluate_agree_with_the_segmenter(tmp_path):
    """`segment` writes what the segmenter returns; `evaluate` scores exactly those labels."""
    from regionpaint.engines.segmenters.bisenet.segmenter import BiSeNetFaceSegmenter

    weights = tmp_path / "79999_iter.pth"
    torch.save(random_state("bisenet_keys.txt", seed=5), weights)
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    rng = np.random.default_rng(2)
    photo = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "images" / "face.png")
    truth = rng.integers(0, 19, (48, 64), dtype=np.uint8)  # half size: resampled to the render's size
    Image.fromarray(truth).save(tmp_path / "labels" / "face.png")

    out = tmp_path / "out.png"
    result = _cli("segment", str(tmp_path / "images" / "face.png"), "--segmenter", "bisenet-face",
                  "--weights", str(weights), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    segmenter = BiSeNetFaceSegmenter()
    segmenter.load(weights)
    expected = segmenter.segment(photo)
    assert np.array_equal(np.asarray(Image.open(out)), expected)

    result = _cli("evaluate", "--segmenter", "bisenet-face", "--weights", str(weights),
                  "--labels", str(tmp_path / "labels"), "--images", str(tmp_path / "images"), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    big_truth = np.kron(truth, np.ones((2, 2), np.uint8))
    score = confusion(expected, big_truth, range(19))
    assert report["images"] == 1
    assert report["miou"] == pytest.approx(round(100 * score.miou, 2))
    assert report["pixel_accuracy"] == pytest.approx(round(100 * score.pixel_accuracy, 2))


def test_cli_colour_output_and_clear_errors(tmp_path):
    weights = tmp_path / "w.pth"
    torch.save(random_state("bisenet_keys.txt"), weights)
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(photo)
    out = tmp_path / "colour.png"
    result = _cli("segment", str(photo), "--segmenter", "bisenet-face", "--weights", str(weights), "--out", str(out),
                  "--colour")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert np.asarray(Image.open(out)).shape == (32, 32, 3)

    wrong = tmp_path / "wrong.pth"
    torch.save({"a.weight": torch.zeros(1)}, wrong)
    result = _cli("segment", str(photo), "--segmenter", "bisenet-face", "--weights", str(wrong), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.startswith(f"regionpaint: error: {wrong}: not a Face parsing")
    assert "Traceback" not in result.stderr
    result = _cli("segment", str(photo), "--segmenter", "nope", "--weights", str(wrong), "--out", str(out))
    assert result.returncode == 2 and "unknown segmenter 'nope'" in result.stderr
    result = _cli("segmenters", "--json")
    listed = {row["id"]: row for row in json.loads(result.stdout)}
    assert listed["bisenet-face"]["label_set"] == "celebamask-hq" and listed["drn-d-105"]["needs_weights"]
