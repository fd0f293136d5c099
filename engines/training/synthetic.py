"""Tiny generated datasets in the official layouts, for tests and benchmarks (torch-free).

Each sample is a few rectangles of random classes on a background class; the photo paints every class in its
own colour plus noise (so a generator has something learnable), and the instance map numbers the rectangles
Cityscapes-style (``class * 1000 + k``, 16-bit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_sample(
    rng: np.random.RandomState, size: tuple[int, int], label_nc: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label (H, W) uint8, instance (H, W) uint16, photo (H, W, 3) uint8) of size (W, H)."""
    w, h = size
    label = np.zeros((h, w), dtype=np.uint8)
    instance = np.zeros((h, w), dtype=np.uint16)
    for k in range(int(rng.randint(2, 5))):
        cls = int(rng.randint(1, label_nc))
        x0, y0 = int(rng.randint(0, w - 4)), int(rng.randint(0, h - 4))
        x1, y1 = x0 + int(rng.randint(4, max(5, w // 2))), y0 + int(rng.randint(4, max(5, h // 2)))
        label[y0:y1, x0:x1] = cls
        instance[y0:y1, x0:x1] = cls * 1000 + k
    palette = (np.random.RandomState(123).rand(256, 3) * 255).astype(np.float64)
    photo = palette[label] + rng.randn(h, w, 3) * 12
    return label, instance, np.clip(photo, 0, 255).astype(np.uint8)


def write_dataset(
    root: str | Path,
    layout: str = "flat",
    count: int = 4,
    size: tuple[int, int] = (64, 64),
    label_nc: int = 8,
    seed: int = 0,
    with_instances: bool = True,
) -> Path:
    """Write ``count`` samples under ``root`` in ``layout`` (flat, custom, cityscapes, celebamask-hq, ade20k)."""
    root = Path(root)
    rng = np.random.RandomState(seed)
    for index in range(count):
        label, instance, photo = make_sample(rng, size, label_nc)
        name = f"sample_{index:04d}"
        paths = _paths(root, layout, name)
        for path in paths.values():
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        if layout == "ade20k":
            label = label + 1  # ADE20K files: 0 = other, classes from 1
        Image.fromarray(label).save(paths["label"])
        Image.fromarray(photo).save(paths["image"])
        if with_instances and paths.get("instance") is not None:
            Image.fromarray(instance.astype(np.uint16)).save(paths["instance"])
    return root


def _paths(root: Path, layout: str, name: str) -> dict[str, Path | None]:
    if layout == "flat":
        return {
            "label": root / "train_label" / f"{name}.png",
            "image": root / "train_img" / f"{name}.png",
            "instance": root / "train_inst" / f"{name}.png",
        }
    if layout == "custom":
        return {
            "label": root / "labels" / f"{name}.png",
            "image": root / "images" / f"{name}.jpg",
            "instance": root / "instances" / f"{name}.png",
        }
    if layout == "cityscapes":
        city = f"city_{name.split('_')[1]}_000019"
        return {
            "label": root / "gtFine" / "train" / "city" / f"{city}_gtFine_labelIds.png",
            "image": root / "leftImg8bit" / "train" / "city" / f"{city}_leftImg8bit.png",
            "instance": root / "gtFine" / "train" / "city" / f"{city}_gtFine_instanceIds.png",
        }
    if layout == "celebamask-hq":
        return {"label": root / "train" / "labels" / f"{name}.png", "image": root / "train" / "images" / f"{name}.jpg"}
    if layout == "ade20k":
        return {
            "label": root / "annotations" / "training" / f"ADE_train_{name}.png",
            "image": root / "images" / "training" / f"ADE_train_{name}.jpg",
        }
    raise ValueError(f"no synthetic writer for layout {layout!r}")
