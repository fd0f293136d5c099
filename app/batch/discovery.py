"""Finding the label maps of a batch and naming their outputs the dataset's way (torch-free).

Layouts are the training layouts of :mod:`regionpaint.engines.training.layouts`:

* ``cityscapes``: ``*_labelIds.png`` (under ``gtFine/`` when the folder is a Cityscapes root); output
  ``*_leftImg8bit.png``; instance map ``*_instanceIds.png`` beside the label.
* ``ade20k`` (``annotations/``), ``celebamask-hq`` (``labels/``), ``coco-stuff`` / ``flat`` (``*_label/``,
  instances in the sibling ``*_inst/``), ``custom`` (``labels/`` or the folder itself, instances in a sibling
  ``instances/``): every image, output ``<stem>.png``.

Outputs mirror the tree below the label root. ``--instances DIR`` replaces the automatic instance maps: the
same relative path (Cityscapes name ``*_instanceIds.png``), any image suffix.

An output folder inside the label folder is left out of the search (a rerun would otherwise read its own
renders as label maps); the label folder itself as the output folder is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regionpaint.engines.training.layouts import IMAGE_SUFFIXES, detect_layout, list_images, pair_key

LAYOUTS = ("auto", "custom", "cityscapes", "celebamask-hq", "coco-stuff", "flat", "ade20k")


class DiscoveryError(ValueError):
    """The label folder holds nothing to render; the message names the folder."""


@dataclass(frozen=True)
class BatchItem:
    """One output to render: ``key`` is the output's path below ``--out`` (POSIX), unique per batch."""

    key: str
    label: Path
    instance: Path | None
    pair: str  # the dataset's sample name (pairs the label with its photo)


def resolve_layout(labels: Path, layout: str) -> str:
    """The layout to use: ``auto`` looks at the folder (and at Cityscapes file names)."""
    if layout != "auto":
        return layout
    for phase in ("train", "val", "test"):
        detected = detect_layout(labels, phase)
        if detected is not None:
            return detected
    if any(p.name.endswith("_labelIds.png") for p in labels.rglob("*_labelIds.png")):
        return "cityscapes"
    return "custom"


def label_root(labels: Path, layout: str) -> Path:
    """The folder whose tree the outputs mirror (a dataset root's label folder, else ``labels``)."""
    named = {"cityscapes": ("gtFine",), "ade20k": ("annotations",), "custom": ("labels", "label")}
    for name in named.get(layout, ()):
        if (labels / name).is_dir():
            return labels / name
    return labels


def _is_label_file(path: Path, root: Path, layout: str) -> bool:
    parts = path.relative_to(root).parts[:-1]
    if layout == "cityscapes":
        return path.name.endswith("_labelIds.png")
    if layout == "celebamask-hq" and any(p in ("labels", "images") for p in parts):
        return "labels" in parts
    if layout in ("coco-stuff", "flat") and any(p.endswith(("_label", "_img", "_inst")) for p in parts):
        return any(p.endswith("_label") for p in parts) and not any(p.endswith(("_img", "_inst")) for p in parts)
    if layout == "custom" and any(p in ("images", "instances", "inst", "img") for p in parts):
        return not any(p in ("images", "instances", "inst", "img") for p in parts)
    return not path.name.endswith(("_instanceIds.png", "_color.png"))


def output_name(path: Path, layout: str) -> str:
    """The output file name of a label file (Cityscapes: ``*_leftImg8bit.png``; else ``<stem>.png``)."""
    if layout == "cityscapes":
        for suffix in ("_gtFine_labelIds.png", "_labelIds.png"):
            if path.name.endswith(suffix):
                return path.name[: -len(suffix)] + "_leftImg8bit.png"
    return f"{path.stem}.png"


def _find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _instance_stem(path: Path, layout: str) -> str:
    if layout == "cityscapes":
        return path.name.replace("_labelIds.png", "_instanceIds")
    return path.stem


def _auto_instance(path: Path, root: Path, layout: str) -> Path | None:
    if layout == "cityscapes":
        return _find_image(path.parent, _instance_stem(path, layout))
    rel = path.relative_to(root)
    for index, part in enumerate(rel.parts[:-1]):
        sibling = {"labels": "instances", "label": "inst"}.get(part)
        if part.endswith("_label"):
            sibling = part[: -len("_label")] + "_inst"
        if sibling:
            folder = root.joinpath(*rel.parts[:index], sibling, *rel.parts[index + 1 : -1])
            return _find_image(folder, path.stem)
    if root.name in ("labels", "label") or root.name.endswith("_label"):
        sibling = "instances" if root.name == "labels" else "inst" if root.name == "label" else root.name[:-6] + "_inst"
        return _find_image(root.parent / sibling / rel.parent, path.stem)
    return None


def _inside(root: Path, folder: str | Path | None) -> tuple[str, ...] | None:
    """``folder``'s path below ``root`` as parts (``()`` when it is ``root``); None when it is not inside."""
    if folder is None:
        return None
    try:
        return Path(folder).resolve().relative_to(root.resolve()).parts
    except ValueError:
        return None


def _excluded(rel: Path, skip: tuple[str, ...] | None) -> bool:
    return skip is not None and rel.parts[: len(skip)] == skip


def discover(
    labels: str | Path, layout: str = "auto", instances: str | Path | None = None, out: str | Path | None = None
) -> tuple[str, list[BatchItem]]:
    """(layout used, items sorted by output key) of every label map under ``labels`` (recursively).

    ``out`` (the output folder) is left out of the search when it lies inside the label folder, and refused
    when it is the label folder.
    """
    folder = Path(labels)
    if not folder.is_dir():
        raise DiscoveryError(f"{folder}: label folder not found")
    layout = resolve_layout(folder, layout)
    if layout not in LAYOUTS:
        raise DiscoveryError(f"unknown layout {layout!r} (choose from {', '.join(LAYOUTS)})")
    root = label_root(folder, layout)
    if _inside(folder, out) == () or _inside(root, out) == ():
        raise DiscoveryError(
            f"--out {str(out)!r}: is the label folder; renders would land among (or on) the label maps. "
            "Choose an output folder outside it (a subfolder is fine)"
        )
    skip = _inside(root, out)  # a subfolder of the labels: its renders are not label maps
    instance_root = Path(instances) if instances else None
    if instance_root is not None and not instance_root.is_dir():
        raise DiscoveryError(f"{instance_root}: instance folder not found")
    items: dict[str, BatchItem] = {}
    for path in list_images(root, recursive=True):
        rel = path.relative_to(root)
        if _excluded(rel, skip) or not _is_label_file(path, root, layout):
            continue
        key = (rel.parent / output_name(path, layout)).as_posix()
        if instance_root is not None:
            instance = _find_image(instance_root / rel.parent, _instance_stem(path, layout))
        else:
            instance = _auto_instance(path, root, layout)
        if key in items:
            raise DiscoveryError(f"{path}: same output {key!r} as {items[key].label}")
        items[key] = BatchItem(key, path, instance, pair_key(path, layout))
    if not items:
        raise DiscoveryError(f"{root}: no label maps found for the {layout} layout")
    return layout, [items[k] for k in sorted(items)]


def photo_index(folder: str | Path, layout: str, out: str | Path | None = None) -> dict[str, Path]:
    """{sample name: photo} of every image under ``folder`` (for ``--style-mode from-photos``); the output
    folder ``out``, when inside it, is left out (renders are named like the photos they stand for)."""
    root = Path(folder)
    if not root.is_dir():
        raise DiscoveryError(f"{root}: photo folder not found")
    skip = _inside(root, out)
    if skip == ():
        raise DiscoveryError(f"--out {str(out)!r}: is the photo folder; choose an output folder outside it")
    index: dict[str, Path] = {}
    for path in list_images(root, recursive=True):
        if not _excluded(path.relative_to(root), skip):
            index.setdefault(pair_key(path, layout), path)
    return index
