"""The edit mask: which pixels of a photo an edit changes, derived from the document, never painted.

A document made from a photo keeps the photo's own segmentation as its *baseline*; the photo itself is
the style source :data:`PHOTO_SOURCE`, the default style of every region (a reconstruction). A pixel
belongs to the edit mask when

* its label (or its instance id) differs from the baseline's, or
* its region is rendered with a style other than the baseline style (another source, a mix, a
  crossover block from another source, ``@random``/``@mean``), for engines with region styles, or
* its pix2pixHD instance feature is not the photo's (a cluster pick for that instance or its class), or
* the engine's style is global (a latent z: :data:`LATENT_Z` without :data:`REGION_STYLES`) and it is
  not the photo's: then every pixel changes.

The mask is then grown by the engine's reach (:func:`grow_mask`), so the seam of the composite is not
inside the edited object. Capabilities are the names of ``engines/base.py`` (mirrored here because the
model never imports ``engines``; ``tests/test_edit_mask.py`` checks they agree).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

#: The style source a photo document adds for its own photo.
PHOTO_SOURCE = "photo"
#: The baseline style of every region: the photo's own codes.
BASELINE_STYLE: tuple[tuple[str, float], ...] = ((PHOTO_SOURCE, 1.0),)

# Capability names of engines/base.py (kept equal by a test).
REGION_STYLES = "region_styles"
LATENT_Z = "latent_z"
INSTANCE_FEATURES = "instance_features"

#: How far (in network pixels) an edit reaches into the render around it: 3x3 convolutions and
#: nearest upsampling spread a change over a few pixels (measured on the face demo: see
#: docs/compositing.md); the mask grows by this much, scaled to the photo.
DEFAULT_REACH = 3


@dataclass(frozen=True)
class EditInputs:
    """What decides the mask, in the document's terms (all maps (H, W), same size).

    ``region_styles``/``default_style``: the mixes as the engine will receive them; ``crossover``:
    block -> source; ``instance_clusters``/``class_clusters``: pix2pixHD picks; ``feature_source``:
    the source pix2pixHD encodes features from; ``global_style_source``: the source a global-z
    engine encodes (None: z is drawn or given, not the photo's).
    """

    label: np.ndarray
    baseline: np.ndarray
    instance: np.ndarray | None = None
    baseline_instance: np.ndarray | None = None
    region_styles: Mapping[int, Any] = None  # type: ignore[assignment]
    default_style: Any = None
    crossover: Mapping[str, str] = None  # type: ignore[assignment]
    instance_clusters: Mapping[int, int] = None  # type: ignore[assignment]
    class_clusters: Mapping[int, int] = None  # type: ignore[assignment]
    feature_source: str | None = PHOTO_SOURCE
    global_style_source: str | None = PHOTO_SOURCE


@dataclass(frozen=True, eq=False)
class EditMask:
    """The parts of the mask (each (H, W) bool) and why: ``whole`` means every pixel changes."""

    label_changed: np.ndarray
    style_changed: np.ndarray
    whole: bool = False

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool: every pixel the edit changes, before growing."""
        if self.whole:
            return np.ones_like(self.label_changed)
        return self.label_changed | self.style_changed

    @property
    def empty(self) -> bool:
        return not self.whole and not (self.label_changed.any() or self.style_changed.any())


def _is_baseline(mix: Any) -> bool:
    """A mix that is the photo's own style (weights within rounding of 1)."""
    pairs = tuple(mix or ())
    return len(pairs) == 1 and pairs[0][0] == PHOTO_SOURCE and abs(float(pairs[0][1]) - 1.0) < 1e-6


def _restyled_classes(inputs: EditInputs, present: np.ndarray) -> np.ndarray:
    """Class ids (among ``present``) whose region style is not the baseline style."""
    region_styles = dict(inputs.region_styles or {})
    restyled = [int(c) for c in present if not _is_baseline(region_styles.get(int(c), inputs.default_style))]
    return np.array(restyled, dtype=np.int64)


def compute_edit_mask(inputs: EditInputs, capabilities: Collection[str]) -> EditMask:
    """The edit mask of ``inputs`` for an engine with ``capabilities`` (capability names)."""
    label, baseline = inputs.label, inputs.baseline
    if label.shape != baseline.shape:
        raise ValueError(
            f"label map is {label.shape[1]}x{label.shape[0]} but the baseline is "
            f"{baseline.shape[1]}x{baseline.shape[0]}"
        )
    caps = frozenset(capabilities)
    label_changed = label != baseline
    if inputs.instance is not None and inputs.baseline_instance is not None:
        label_changed |= inputs.instance != inputs.baseline_instance
    style_changed = np.zeros_like(label_changed)
    if LATENT_Z in caps and REGION_STYLES not in caps:
        # One z styles every pixel: a z that is not the photo's changes all of them.
        if inputs.global_style_source != PHOTO_SOURCE:
            return EditMask(label_changed, style_changed, whole=True)
    if REGION_STYLES in caps:
        crossover = dict(inputs.crossover or {})
        if any(source != PHOTO_SOURCE for source in crossover.values()):
            # A crossover block styles every region from its source.
            return EditMask(label_changed, style_changed, whole=True)
        restyled = _restyled_classes(inputs, np.unique(label))
        if restyled.size:
            style_changed |= np.isin(label, restyled)
    if INSTANCE_FEATURES in caps:
        if inputs.feature_source != PHOTO_SOURCE:
            return EditMask(label_changed, style_changed, whole=True)
        if inputs.class_clusters:
            style_changed |= np.isin(label, np.array(list(inputs.class_clusters), dtype=np.int64))
        if inputs.instance_clusters and inputs.instance is not None:
            style_changed |= np.isin(inputs.instance, np.array(list(inputs.instance_clusters), dtype=np.int64))
    return EditMask(label_changed, style_changed)


def reach_in_pixels(
    image_size: tuple[int, int], network_size: tuple[int, int] | None, reach: float = DEFAULT_REACH
) -> int:
    """``reach`` network pixels in image pixels: image (W, H) rendered at ``network_size`` (W, H)."""
    if network_size is None:
        return int(math.ceil(reach))
    scale = max(image_size[0] / network_size[0], image_size[1] / network_size[1])
    return int(math.ceil(reach * max(scale, 1.0)))


def disk(radius: int) -> np.ndarray:
    """A (2r+1, 2r+1) uint8 disk: the structuring element that grows by ``radius`` Euclidean pixels."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grow_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) bool ``mask`` dilated by ``radius`` pixels (a disk)."""
    if radius <= 0 or not mask.any() or mask.all():
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), disk(radius)).astype(bool)


def document_edit_inputs(doc: Any) -> EditInputs | None:
    """:class:`EditInputs` of a document with a photo and a baseline, or None (nothing to composite onto).

    Reads what :func:`regionpaint.app.render.from_document.document_request` sends the engine: the region mixes, the
    crossover and the pix2pixHD picks kept in the engine options.
    """
    if getattr(doc, "photo", None) is None or getattr(doc, "baseline", None) is None:
        return None
    options = dict(doc.engine.options)
    default = tuple(doc.default_style) or None
    return EditInputs(
        label=doc.label,
        baseline=doc.baseline,
        instance=doc.instance,
        baseline_instance=doc.baseline_instance,
        region_styles=dict(doc.region_styles),
        default_style=default,
        crossover=dict(doc.crossover),
        instance_clusters={int(k): int(v) for k, v in dict(options.get("instance_clusters") or {}).items()},
        class_clusters={int(k): int(v) for k, v in dict(options.get("class_clusters") or {}).items()},
        feature_source=options.get("feature_source"),
        global_style_source=None if options.get("spade_z") == "random" else (default[0][0] if default else None),
    )


def start_photo_edit(doc: Any) -> None:
    """Make a document with a photo a photo edit: its label map becomes the baseline, the photo the
    style source :data:`PHOTO_SOURCE`, the default style of every region and pix2pixHD's feature source
    (a reconstruction).

    What the document is made from, so no undo step is recorded. A document without a photo is left alone.
    """
    from .document import StyleSourceData

    if doc.photo is None:
        return
    doc.set_baseline(doc.label, doc.instance)
    sources = dict(doc.style_sources)
    if PHOTO_SOURCE not in sources:
        photo_source = StyleSourceData(doc.photo, doc.baseline, doc.baseline_instance, "the photo")
        sources = {PHOTO_SOURCE: photo_source, **sources}
    # pix2pixHD: the photo's own instance features (an engine option other engines ignore).
    options = {**doc.engine.options, "feature_source": PHOTO_SOURCE}
    doc.replace_fields(style_sources=sources, default_style=BASELINE_STYLE, engine=doc.engine.replaced(options=options))


def awaits_photo_labels(doc: Any) -> bool:
    """A document made from a photo alone (an empty map, or a project saved before its labels were accepted):
    it has the photo but no baseline, so renders are not composited onto the photo yet."""
    return doc is not None and doc.photo is not None and doc.baseline is None


def accept_photo_labels(doc: Any) -> bool:
    """Accept the labels made on a photo alone as its segmentation: they become the baseline, and later
    edits composite onto the photo like those of a document made from a photo and its segmentation.

    What the document is made from, like :func:`start_photo_edit`: no undo step (undoing the labelling
    afterwards is an edit against the accepted labels). False when there is nothing to accept.
    """
    from .document import EventKind

    if not awaits_photo_labels(doc):
        return False
    start_photo_edit(doc)
    doc.notify(EventKind.COMPOSITE)  # how renders go onto the photo changed: compositing controls apply now
    return True
