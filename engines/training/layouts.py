"""Dataset layouts: where the label maps, photos and instance maps of a training set live (torch-free).

Layouts (``phase`` is ``train`` unless told otherwise):

* ``cityscapes``: ``gtFine/<phase>/<city>/*_labelIds.png`` (+ ``*_instanceIds.png``) and
  ``leftImg8bit/<phase>/<city>/*_leftImg8bit.png`` (NVlabs/SPADE ``CityscapesDataset``).
* ``celebamask-hq``: ``<phase>/labels/*.png`` and ``<phase>/images/*.jpg`` (ZPdesu/SEAN).
* ``coco-stuff`` and ``flat``: ``<phase>_label``, ``<phase>_img``, ``<phase>_inst`` (SPADE ``CocoDataset``,
  pix2pixHD ``AlignedDataset``); COCO's ``*_portrait`` folders are added when present.
* ``ade20k``: ``images/training/*.jpg`` and ``annotations/training/*.png`` (ADEChallengeData2016).
* ``custom``: ``--label-dir``, ``--image-dir`` and optional ``--instance-dir`` (or, under ``--data``, folders
  named ``labels``/``label``, ``images``/``img``, ``instances``/``inst``).

Files pair by name, not by sorted position: the key is the file stem without the dataset's suffixes
(``_gtFine_labelIds``, ``_leftImg8bit``, ...), so one missing photo is reported instead of shifting every
pair after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_STRIP = re.compile(r"(_gtFine_labelIds|_gtFine_instanceIds|_leftImg8bit|_labelIds|_instanceIds)$")
_CUSTOM_NAMES = {
    "label": ("labels", "label", "train_label", "annotations", "masks"),
    "image": ("images", "image", "img", "train_img", "photos"),
    "instance": ("instances", "instance", "inst", "train_inst"),
}


class LayoutError(ValueError):
    """The folder does not hold the files a layout expects; the message names the folder."""


@dataclass(frozen=True)
class Sample:
    """One training pair (+ instance map), matched by ``key``."""

    key: str
    label: Path
    image: Path
    instance: Path | None = None


@dataclass
class LayoutScan:
    """What a layout found: the pairs, the files left without a partner, and the folders it read."""

    layout: str
    samples: list[Sample]
    unpaired: list[tuple[Path, str]] = field(default_factory=list)  # (file, what is missing)
    folders: dict[str, Path] = field(default_factory=dict)  # role ("label", "image", "instance") -> folder
    has_instances: bool = False
    notes: list[str] = field(default_factory=list)


def pair_key(path: Path, layout: str) -> str:
    """The name two files of one sample share (Cityscapes: ``city_seq_frame``)."""
    if layout == "cityscapes":
        return "_".join(path.name.split("_")[:3])
    return _STRIP.sub("", path.stem)


def list_images(folder: Path, recursive: bool = False, suffix: str = "") -> list[Path]:
    """Image files in ``folder`` (sorted), optionally only those whose name ends with ``suffix``."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and p.name.endswith(suffix))


def detect_layout(root: str | Path, phase: str = "train") -> str | None:
    """The layout ``root`` looks like, or None."""
    root = Path(root)
    if (root / "gtFine").is_dir() and (root / "leftImg8bit").is_dir():
        return "cityscapes"
    if (root / "images" / _ade_phase(phase)).is_dir() and (root / "annotations" / _ade_phase(phase)).is_dir():
        return "ade20k"
    if (root / phase / "labels").is_dir() and (root / phase / "images").is_dir():
        return "celebamask-hq"
    if (root / f"{phase}_label").is_dir() and (root / f"{phase}_img").is_dir():
        return "flat"
    if _find_named(root, "label") and _find_named(root, "image"):
        return "custom"
    return None


def _ade_phase(phase: str) -> str:
    return {"train": "training", "val": "validation", "test": "validation"}.get(phase, phase)


def _find_named(root: Path, role: str) -> Path | None:
    for name in _CUSTOM_NAMES[role]:
        if (root / name).is_dir():
            return root / name
    return None


def scan_layout(
    root: str | Path | None,
    layout: str,
    phase: str = "train",
    label_dir: str | Path | None = None,
    image_dir: str | Path | None = None,
    instance_dir: str | Path | None = None,
) -> LayoutScan:
    """Find the samples of ``layout`` under ``root`` (``custom`` may give the three folders instead)."""
    root_path = Path(root) if root else None
    if root_path is not None and not root_path.is_dir():
        raise LayoutError(f"{root_path}: dataset folder not found")
    if layout == "auto":
        if root_path is None:
            raise LayoutError("no dataset folder given")
        detected = detect_layout(root_path, phase)
        if detected is None:
            raise LayoutError(
                f"{root_path}: no known dataset layout (expected gtFine/ + leftImg8bit/, {phase}_label/ + "
                f"{phase}_img/, {phase}/labels + {phase}/images, images/ + annotations/, or labels/ + images/)"
            )
        layout = detected
    if layout == "cityscapes":
        folders = {"label": _need(root_path, "gtFine", phase), "image": _need(root_path, "leftImg8bit", phase)}
        labels = list_images(folders["label"], recursive=True, suffix="_labelIds.png")
        instances = list_images(folders["label"], recursive=True, suffix="_instanceIds.png")
        images = list_images(folders["image"], recursive=True)
        folders["instance"] = folders["label"]
    elif layout == "ade20k":
        ade = _ade_phase(phase)
        folders = {"label": _need(root_path, "annotations", ade), "image": _need(root_path, "images", ade)}
        labels, images, instances = list_images(folders["label"]), list_images(folders["image"]), []
    elif layout == "celebamask-hq":
        folders = {"label": _need(root_path, phase, "labels"), "image": _need(root_path, phase, "images")}
        labels, images, instances = list_images(folders["label"]), list_images(folders["image"]), []
    elif layout in ("flat", "coco-stuff"):
        folders = {"label": _need(root_path, f"{phase}_label"), "image": _need(root_path, f"{phase}_img")}
        labels, images = list_images(folders["label"]), list_images(folders["image"])
        instances = []
        if (root_path / f"{phase}_inst").is_dir():
            folders["instance"] = root_path / f"{phase}_inst"
            instances = list_images(folders["instance"])
        if layout == "coco-stuff":
            for role, items in (("label", labels), ("img", images), ("inst", instances)):
                items += list_images(root_path / f"{phase}_{role}_portrait")
    elif layout == "custom":
        folders = _custom_folders(root_path, label_dir, image_dir, instance_dir)
        labels, images = list_images(folders["label"]), list_images(folders["image"])
        instances = list_images(folders["instance"]) if "instance" in folders else []
    else:
        raise LayoutError(f"unknown layout {layout!r}")
    scan = pair_files(layout, labels, images, instances)
    scan.folders = folders
    scan.has_instances = bool(instances)
    if not labels:
        raise LayoutError(f"{folders['label']}: no label maps found for the {layout} layout")
    return scan


def _need(root: Path | None, *parts: str) -> Path:
    if root is None:
        raise LayoutError("no dataset folder given")
    folder = root.joinpath(*parts)
    if not folder.is_dir():
        raise LayoutError(f"{folder}: folder not found")
    return folder


def _custom_folders(
    root: Path | None, label_dir: str | Path | None, image_dir: str | Path | None, instance_dir: str | Path | None
) -> dict[str, Path]:
    if root is not None and not root.is_dir():
        raise LayoutError(f"{root}: dataset folder not found")
    folders: dict[str, Path] = {}
    for role, given in (("label", label_dir), ("image", image_dir), ("instance", instance_dir)):
        if given:
            folder = Path(given)
            if not folder.is_absolute() and root is not None and not folder.exists():
                folder = root / folder
            if not folder.is_dir():
                raise LayoutError(f"{folder}: {role} folder not found")
            folders[role] = folder
        elif root is not None and (found := _find_named(root, role)) is not None:
            folders[role] = found
    for role in ("label", "image"):
        if role not in folders:
            raise LayoutError(
                f"custom layout: no {role} folder (pass --{role}-dir, or name it "
                f"{' / '.join(_CUSTOM_NAMES[role][:2])} under the dataset folder)"
            )
    return folders


def pair_files(layout: str, labels: Iterable[Path], images: Iterable[Path], instances: Iterable[Path]) -> LayoutScan:
    """Match labels, photos and instance maps by :func:`pair_key`; report what is left over."""
    by_role: dict[str, dict[str, Path]] = {"label": {}, "image": {}, "instance": {}}
    duplicates: list[tuple[Path, str]] = []
    for role, paths in (("label", labels), ("image", images), ("instance", instances)):
        for path in paths:
            key = pair_key(path, layout)
            if key in by_role[role]:
                duplicates.append((path, f"second {role} file for {key!r} (first: {by_role[role][key].name})"))
            else:
                by_role[role][key] = path
    have_instances = bool(by_role["instance"])
    samples: list[Sample] = []
    unpaired = list(duplicates)
    for key, label in sorted(by_role["label"].items()):
        image = by_role["image"].get(key)
        instance = by_role["instance"].get(key)
        if image is None:
            unpaired.append((label, "label map without a photo"))
            continue
        if have_instances and instance is None:
            unpaired.append((label, "label map without an instance map"))
            continue
        samples.append(Sample(key, label, image, instance))
    for key, image in sorted(by_role["image"].items()):
        if key not in by_role["label"]:
            unpaired.append((image, "photo without a label map"))
    for key, instance in sorted(by_role["instance"].items()):
        if key not in by_role["label"]:
            unpaired.append((instance, "instance map without a label map"))
    return LayoutScan(layout=layout, samples=samples, unpaired=unpaired)
