"""Procedural demo data: paired photos, label maps and instance maps for training the bundled demo models.

Official checkpoints cannot ship with the app, so its demo models are trained on data made here: frontal
cartoon faces in the CelebAMask-HQ scheme (:mod:`.faces`) and street scenes in the Cityscapes scheme
(:mod:`.streets`), written to disk in the training layouts by :mod:`.dataset`. Everything is numpy + OpenCV
+ Pillow and deterministic by seed. Photos are painted from the label map and a style object, so the same
layout can be repainted with another style (``paint_face(label, replace(style, hair_rgb=...), seed)``).
"""

from __future__ import annotations

from typing import Any

from .faces import FACE_CLASSES, FaceSample, FaceShape, FaceStyle, face_label, make_face, paint_face, random_face_style
from .streets import (
    STREET_CLASSES,
    StreetSample,
    StreetScene,
    StreetStyle,
    make_street,
    paint_street,
    random_street_style,
    street_label,
)

__all__ = [
    "FACE_CLASSES",
    "STREET_CLASSES",
    "FaceSample",
    "FaceShape",
    "FaceStyle",
    "PairPaths",
    "StreetSample",
    "StreetScene",
    "StreetStyle",
    "contact_sheet",
    "face_label",
    "make_face",
    "make_sample",
    "make_street",
    "paint_face",
    "paint_street",
    "random_face_style",
    "random_street_style",
    "street_label",
    "write_dataset",
    "write_pair",
]

_DATASET_NAMES = ("PairPaths", "contact_sheet", "make_sample", "write_dataset", "write_pair")


def __getattr__(name: str) -> Any:
    # Imported on first use so that `python -m tools.demo.dataset` does not find its module already loaded.
    if name in _DATASET_NAMES:
        from . import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
