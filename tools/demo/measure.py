"""Measures on the demo world used by the demo tests and ``bench/demo_response.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tools.demo.streets import make_street


def world_colours(class_id: int, count: int = 4000) -> np.ndarray:
    """Pixel colours of ``class_id`` in 30 street photos of the demo world (the procedural generator)."""
    pixels = []
    for index in range(30):
        street = make_street(seed=[7, index], size=(256, 128))  # seed family 7: not the training data (0)
        pixels.append(street.photo[street.label == class_id].reshape(-1, 3))
    pixels = np.concatenate(pixels).astype(np.float64)
    return pixels[np.random.default_rng(0).choice(len(pixels), count)]


def car_like_share(pixels: np.ndarray, cars: np.ndarray, roads: np.ndarray) -> float:
    """Share of ``pixels`` whose nearest demo-world colour is a car's rather than a road's (cars come in many
    colours, so the mean colour of one scene's cars says little about a new one)."""
    to_car = ((pixels[:, None] - cars[None]) ** 2).sum(-1).min(1)
    to_road = ((pixels[:, None] - roads[None]) ** 2).sum(-1).min(1)
    return float((to_car < to_road).mean())


ROAD, CAR = 7, 26


def write_road_patch_as_car(label: np.ndarray, instance: np.ndarray, folder: Path) -> tuple[np.ndarray, Path, Path]:
    """Repaint the road inside the box x 35-55 %, y 80-95 % of a street label map as one new car instance.

    Writes ``folder/label.png`` and ``folder/instance.png``; returns (patch mask, label path, instance path).
    """
    height, width = label.shape
    patch = np.zeros_like(label, dtype=bool)
    patch[int(height * 0.80) : int(height * 0.95), int(width * 0.35) : int(width * 0.55)] = True
    patch &= label == ROAD
    edited = label.copy()
    edited[patch] = CAR
    ids = instance.astype(np.int32).copy()
    ids[patch] = CAR * 1000 + 99  # Cityscapes instance ids: class * 1000 + index
    label_path, instance_path = folder / "label.png", folder / "instance.png"
    Image.fromarray(edited.astype(np.uint8)).save(label_path)
    Image.fromarray(ids.astype(np.uint16)).save(instance_path)
    return patch, label_path, instance_path
