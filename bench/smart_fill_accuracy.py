"""Smart fill accuracy: IoU of one region grown from a single stroke, on the shared fixture photos.

For each chosen class of a fixture photo, the stroke is drawn the way a person would: along the long
axis of the class's largest connected region, through its most interior point, over 60 % of the
region's length and never closer than 3 pixels to its outline. The region the smart fill grows from
that stroke is compared with the ground-truth region (IoU). Fixtures that are missing are skipped.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

from regionpaint.app.model.labelsets import CELEBAMASK_HQ, CITYSCAPES
from regionpaint.app.model.smart_fill import stroke_grabcut_mask

NAME = "smart_fill_accuracy"
DESCRIPTION = "IoU of one region grown by the smart fill from a single stroke (GrabCut), fixture photos"
SHARED = Path(os.environ.get("REGIONPAINT_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))

FACE_PHOTO = "refs/sean_celebahq/datasets/CelebA-HQ/test/images_A/28083.jpg"
FACE_LABEL = "refs/sean_celebahq/datasets/CelebA-HQ/test/labels_A/28083.png"
STREET = "aachen_000000_000019"
FACE_CLASSES = ("hair", "skin", "cloth", "neck")
STREET_CLASSES = ("road", "sky", "building", "car", "vegetation")


def largest_region(label: np.ndarray, class_id: int) -> np.ndarray | None:
    count, components, stats, _ = cv2.connectedComponentsWithStats((label == class_id).astype(np.uint8), 8)
    if count < 2:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return components == biggest


def person_stroke(region: np.ndarray) -> list[tuple[float, float]]:
    """A straight stroke along the region's long axis, through its most interior pixel, kept inside it."""
    distance = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    cy, cx = np.unravel_index(int(np.argmax(distance)), distance.shape)
    ys, xs = np.nonzero(region)
    coords = np.stack([xs, ys], 1).astype(np.float64)
    _, _, axes = np.linalg.svd(coords - coords.mean(0), full_matrices=False)
    direction = axes[0]
    extent = np.ptp(coords @ direction)
    # Walk out from the centre both ways until the stroke would leave the region (or come within 3 px of it).
    halves = []
    for sign in (-1.0, 1.0):
        run = []
        for t in np.linspace(0.0, 0.3 * extent, 100):
            x, y = cx + sign * t * direction[0], cy + sign * t * direction[1]
            xi, yi = round(x), round(y)
            if not (0 <= yi < region.shape[0] and 0 <= xi < region.shape[1]) or distance[yi, xi] < 3:
                break
            run.append((x, y))
        halves.append(run)
    return halves[0][::-1] + halves[1][1:] or [(float(cx), float(cy))]


def fixture_cases() -> list[tuple[str, np.ndarray, np.ndarray, object, tuple[str, ...]]]:
    from PIL import Image

    cases = []
    face_photo, face_label = SHARED / FACE_PHOTO, SHARED / FACE_LABEL
    if face_photo.is_file() and face_label.is_file():
        label = np.asarray(Image.open(face_label))
        photo = np.asarray(Image.open(face_photo).convert("RGB").resize(label.shape[::-1], Image.BILINEAR))
        cases.append(("celebahq 28083", photo, label, CELEBAMASK_HQ, FACE_CLASSES))
    city = SHARED / "fixtures" / "cityscapes"
    street_photo = city / "train_img" / f"{STREET}_leftImg8bit.png"
    street_label = city / "train_label" / f"{STREET}_gtFine_labelIds.png"
    if street_photo.is_file() and street_label.is_file():
        photo = np.asarray(Image.open(street_photo).convert("RGB"))
        cases.append((f"cityscapes {STREET}", photo, np.asarray(Image.open(street_label)), CITYSCAPES, STREET_CLASSES))
    return cases


def measure(photo: np.ndarray, label: np.ndarray, class_id: int) -> tuple[float, float] | None:
    """(IoU, seconds) of the smart fill from one stroke on the class's largest region."""
    region = largest_region(label, class_id)
    if region is None:
        return None
    stroke = person_stroke(region)
    start = time.perf_counter()
    found = stroke_grabcut_mask(photo, stroke)
    seconds = time.perf_counter() - start
    grown = np.zeros(region.shape, bool)
    box, mask = found
    grown[box.slices] = mask
    union = (grown | region).sum()
    return float((grown & region).sum() / union), seconds


def run(args: argparse.Namespace | None = None) -> list[dict]:
    rows = []
    for name, photo, label, label_set, classes in fixture_cases():
        for class_name in classes:
            result = measure(photo, label, label_set.id_of(class_name))
            if result is not None:
                iou, seconds = result
                rows.append({"photo": name, "region": class_name, "iou": round(iou, 3), "seconds": seconds})
    return rows


if __name__ == "__main__":
    from bench.__main__ import format_table

    print(format_table(run()))
