"""Running segmenters for the CLI and the editor (Qt-free): load one, label a photo, score renders.

``regionpaint segment``, ``regionpaint evaluate``, File › New from photo and the editor's fidelity
readout all go through here, so they load, cache and score the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regionpaint.app.model.fidelity import FidelityScore, confusion
from regionpaint.app.model.imports import ImportFileError, read_label_map, read_photo
from regionpaint.app.model.labelsets import LabelSet

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
# Dataset file-name endings that pair a photo with its label map (Cityscapes, SEAN/SPADE outputs).
_PAIRING_SUFFIXES = ("_gtFine_labelIds", "_gtFine_color", "_leftImg8bit", "_synthesized_image", "_labelIds")

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str, str], object] = {}


def segmenter_class(segmenter_id: str):
    from regionpaint.plugins.manager import get_plugin_manager

    return get_plugin_manager().segmenter_class(segmenter_id)


def label_set_of(segmenter_cls) -> LabelSet:
    from regionpaint.plugins.manager import get_plugin_manager

    return get_plugin_manager().label_set(segmenter_cls.label_set)


def load_segmenter(segmenter_id: str, weights: str | Path | None, device: str = "auto"):
    """A loaded segmenter, cached per (id, weights file, device) so the editor loads it once.

    ``device``: ``auto`` (CUDA, else MPS, else CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    """
    if device == "auto":
        from regionpaint.engines.device import resolve_device

        device = str(resolve_device("auto"))
    key = (segmenter_id, str(Path(weights).resolve()) if weights else "", device)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
    segmenter = segmenter_class(segmenter_id)()
    segmenter.load(weights, device)
    with _cache_lock:
        # One segmenter in memory at a time (they are large); one still in use elsewhere lives on until done.
        _cache.clear()
        _cache[key] = segmenter
    return segmenter


def missing_weights_message(segmenter_cls) -> str:
    """What to tell someone who chose a segmenter that needs weights they do not have: what the file is,
    where to get it (the model manager's catalog entry: a download, or ``models add`` for a file with no
    download left) and that smart fill needs no weights at all."""
    from regionpaint.app.model_manager.catalog import load_catalog

    entries = load_catalog().entries_for("segmenter", segmenter_cls.id)
    what = f"{segmenter_cls.display_name} needs its weights file"
    hint = segmenter_cls.weights_hint
    text = f"{what}, {hint}" if hint else what
    if not entries:
        where = "choose it with Browse…"
    else:
        entry = entries[0]
        files = entry.weight_files()
        downloadable = any(source.kind != "page" for file in files for source in file.sources)
        if downloadable:
            where = f"download “{entry.title}” with File › Models… or `regionpaint models get {entry.name}`"
        else:
            name = files[0].path if files else "the file"
            where = (
                f"there is no download for it (File › Models… says why); if you have {name}, choose it with "
                f"Browse… or add it with `regionpaint models add {name}`"
            )
    return (
        f"{text}: {where}. Smart fill needs no weights: start with an empty map and label it with the Smart fill "
        "tool (S), which follows the photo's edges."
    )


def resize_nearest(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) ids resampled to ``size`` (W, H) without inventing ids."""
    if label.shape[::-1] == tuple(size):
        return label
    import cv2

    return cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)


def pairing_key(path: Path) -> str:
    stem = path.stem
    for suffix in _PAIRING_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ImportFileError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def pair_folders(labels: Path, images: Path) -> list[tuple[Path, Path]]:
    """(label map, rendered image) pairs matched by file name (dataset endings like ``_leftImg8bit`` ignored)."""
    rendered = {pairing_key(p): p for p in image_files(images)}
    pairs = [(label, rendered[pairing_key(label)]) for label in image_files(labels) if pairing_key(label) in rendered]
    if not pairs:
        raise ImportFileError(f"{images}: no image has the name of a label map in {labels}")
    return pairs


@dataclass
class Evaluation:
    score: FidelityScore
    images: int
    skipped: list[str]


def evaluate_pairs(
    segmenter,
    label_set: LabelSet,
    pairs: list[tuple[Path, Path]],
    progress: Callable[[int, int], None] | None = None,
    size: str | None = None,
    fast: bool = False,
) -> Evaluation:
    """Segment every rendered image and score it against the label map it was rendered from.

    The label map is resampled (nearest) to the render's size, as the papers score at the generated size.
    ``size`` and ``fast`` are :meth:`regionpaint.engines.segmenters.base.Segmenter.segment`'s.
    """
    class_ids = segmenter.eval_ids or tuple(range(label_set.num_classes))
    total = None
    for index, (label_path, image_path) in enumerate(pairs):
        photo = read_photo(image_path)
        truth = resize_nearest(read_label_map(label_path, label_set), photo.shape[1::-1])
        score = confusion(segmenter.segment(photo, size=size, fast=fast), truth, class_ids)
        total = score if total is None else total + score
        if progress is not None:
            progress(index + 1, len(pairs))
    return Evaluation(total, len(pairs), [])


def empty_label(label_set: LabelSet, size: tuple[int, int]) -> np.ndarray:
    """An (H, W) map of ``size`` (W, H) that is all background: the don't-care id where the set has one
    (ADE20K's "other", COCO-Stuff's "unlabeled"), else id 0 (CelebAMask-HQ background, Cityscapes unlabeled)."""
    fill = label_set.dontcare_id if label_set.dontcare_id is not None else 0
    return np.full((size[1], size[0]), fill, dtype=np.uint8 if fill < 256 else np.uint16)


def document_from_photo(photo_path: str | Path, label_set: LabelSet, segmenter=None):
    """A new document from a photo alone: labelled by ``segmenter`` (loaded), or all background.

    The segmenter's label set must be ``label_set``. Segmented, the document is a photo edit at once: the
    labels the person accepts by creating it are its baseline, as a given segmentation would be. All
    background, it has no baseline yet: the person labels the photo (smart fill) and then accepts the labels
    (:func:`regionpaint.app.model.edit_mask.accept_photo_labels`).
    """
    from regionpaint.app.model.document import Document, DocumentError
    from regionpaint.app.model.edit_mask import start_photo_edit

    photo = read_photo(photo_path)
    if segmenter is None:
        label = empty_label(label_set, photo.shape[1::-1])
    else:
        if segmenter.label_set != label_set.id:
            raise DocumentError(f"segmenter {segmenter.id} labels {segmenter.label_set}, not {label_set.id}")
        label = segmenter.segment(photo)
    doc = Document(label, label_set.id, photo=photo, names={"photo": str(photo_path)})
    if segmenter is not None:
        start_photo_edit(doc)
    return doc
