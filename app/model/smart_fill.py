"""Edge-aware labelling that needs no weights: a smart fill (GrabCut) and a snap-to-edges brush (watershed).

Both read the document's photo, compute a mask with core OpenCV, and commit it as one undo step through
the same path as the other pixel edits (:mod:`regionpaint.app.model.edits`), writing the class into the instance map
like the other shape tools.

- :func:`smart_fill_stroke`: the stroke's pixels are certainly the object, pixels near it probably;
  GrabCut grows it along the photo's edges inside a box around the stroke (its extent plus a margin,
  grown while the object reaches the box's edge); pixels outside that box are certainly not the
  object. Only the part connected to the stroke is filled.
- :func:`smart_fill_box`: GrabCut from a box around the object (the classic rectangle start).
- :func:`snap_stroke`: a brush whose outline snaps to edges: a watershed between a core along the
  stroke (a third of the radius) and the ring at 1.5x the radius decides, pixel by pixel, how far the
  paint reaches; without an edge it stops about at the brush's radius.

GrabCut is slow on big areas, so it runs on the crop around the box, downscaled to at most
:data:`GRABCUT_MAX_SIDE` pixels on its long side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from .document import Document
from .edits import EditError, _as_points, _check_label_id, _commit_mask, paint_stroke, stroke_mask
from .history import Box
from .labelsets import LabelSet

#: Long side (pixels) GrabCut works at; masks are scaled back up to the photo.
GRABCUT_MAX_SIDE = 360
GRABCUT_ITERATIONS = 5
#: Share of the stroke's extent added on every side to make the box a stroke grows in.
STROKE_MARGIN = 0.6
MIN_MARGIN = 16
#: Colour distance (CIELAB, 8-bit units) within which a pixel counts as "like the stroke", at least.
SIMILAR_COLOUR = 12.0
#: Pixels within this share of the margin from the stroke start as "probably the object".
NEAR_STROKE = 0.5
#: How often a stroke's box may grow when the object reaches its edge.
GROW_ROUNDS = 4


def _photo(doc: Document, what: str) -> np.ndarray:
    if doc.photo is None:
        raise EditError(f"{what} follows the photo's edges; this document has no photo")
    return doc.photo


def _expand(box: Box, margin: int, width: int, height: int) -> Box:
    return Box(box.x0 - margin, box.y0 - margin, box.x1 + margin, box.y1 + margin).clipped(width, height)


def grabcut(photo: np.ndarray, seeds: np.ndarray, iterations: int = GRABCUT_ITERATIONS) -> np.ndarray:
    """GrabCut on a (h, w, 3) uint8 RGB crop with a (h, w) uint8 mask of ``cv2.GC_*`` seeds -> bool object mask.

    The crop is downscaled to :data:`GRABCUT_MAX_SIDE` first; certain seeds survive the downscale.
    """
    height, width = seeds.shape
    scale = min(1.0, GRABCUT_MAX_SIDE / max(height, width))
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    if scale < 1.0:
        image = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
        small = cv2.resize(seeds, small_size, interpolation=cv2.INTER_NEAREST)
        # A thin stroke can fall between the samples of a nearest-neighbour downscale; keep it.
        for value in (cv2.GC_FGD, cv2.GC_BGD):
            kept = cv2.resize((seeds == value).astype(np.float32), small_size, interpolation=cv2.INTER_AREA) > 0
            small[kept] = value
        seeds = small
    labels = seeds.copy()
    if not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        labels[[0, -1], :] = cv2.GC_PR_BGD  # GrabCut needs some background samples
        labels[:, [0, -1]] = cv2.GC_PR_BGD
    if not np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
        return np.zeros((height, width), dtype=bool)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start is random; the same stroke should give the same fill
    cv2.grabCut(image, labels, None, background, foreground, iterations, cv2.GC_INIT_WITH_MASK)
    result = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        # Smooth upscale, then threshold: outlines follow the small mask without staircase steps.
        result = cv2.resize(result.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) >= 0.5
    return result.astype(bool)


def _connected_to(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` that touch ``seeds`` (8-connected)."""
    count, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    touched = np.unique(components[seeds & mask])
    touched = touched[touched > 0]
    return np.isin(components, touched) | seeds


def stroke_grabcut_mask(
    photo: np.ndarray, points: Iterable[Sequence[float]], radius: float = 2.0, margin: int | None = None
) -> tuple[Box, np.ndarray] | None:
    """The object a stroke lies on: ``(box, mask)`` over the photo, or None for a stroke outside it.

    GrabCut runs in a box around the stroke and the stroke's colours; while the object it finds reaches the
    box's edge (and the box can still grow), the box grows by half and GrabCut runs again, up to
    :data:`GROW_ROUNDS` times.
    """
    height, width = photo.shape[:2]
    covered = stroke_mask(points, radius, "round", (width, height))
    if covered is None:
        return None
    stroke_box, stroke = covered
    if margin is None:
        margin = max(MIN_MARGIN, round(STROKE_MARGIN * max(stroke_box.width, stroke_box.height)))
    stroke_full = np.zeros((height, width), bool)
    stroke_full[stroke_box.slices] = stroke
    # A box wholly inside the object would teach GrabCut that the object's colours are background:
    # start from the extent of the stroke's colours around it.
    start = similar_colour_box(photo, stroke_full)
    inner = _expand(stroke_box, margin, width, height).union(start)
    for _ in range(GROW_ROUNDS):
        crop = _expand(inner, max(4, margin // 4), width, height)  # a band of certain background around it
        seeds = np.full((crop.height, crop.width), cv2.GC_BGD, np.uint8)
        inner_local = inner.shifted(-crop.x0, -crop.y0)
        seeds[inner_local.slices] = cv2.GC_PR_BGD
        stroke_local = np.zeros(seeds.shape, bool)
        stroke_local[stroke_box.shifted(-crop.x0, -crop.y0).slices] = stroke
        # Near the stroke the object is likelier than not: gives GrabCut's object model more samples.
        distance = cv2.distanceTransform((~stroke_local).astype(np.uint8), cv2.DIST_L2, 5)
        seeds[(distance < NEAR_STROKE * margin) & (seeds == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
        seeds[stroke_local] = cv2.GC_FGD
        mask = _connected_to(grabcut(photo[crop.slices], seeds), stroke_local)
        if not _reaches_open_edge(mask[inner_local.slices], inner, width, height):
            break
        # The object goes on beyond the box: grow the box by half its size and look again.
        inner = _expand(inner, max(inner.width, inner.height) // 2, width, height)
    return crop, mask


def _reaches_open_edge(mask: np.ndarray, box: Box, width: int, height: int) -> bool:
    """True when ``mask`` (the size of ``box``) touches a side of the box that is not the image's edge."""
    return bool(
        (box.y0 > 0 and mask[0].any())
        or (box.y1 < height and mask[-1].any())
        or (box.x0 > 0 and mask[:, 0].any())
        or (box.x1 < width and mask[:, -1].any())
    )


def similar_colour_box(photo: np.ndarray, seeds: np.ndarray) -> Box:
    """The box around the pixels connected to ``seeds`` whose colour is like the seeds' colours.

    "Like" is within 2.5 standard deviations of the seeds' mean Lab colour (at least
    :data:`SIMILAR_COLOUR`); the work runs on a copy of at most 256 px on its long side.
    """
    height, width = seeds.shape
    scale = min(1.0, 256 / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    lab = cv2.cvtColor(cv2.resize(photo, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2LAB).astype(np.float32)
    small_seeds = cv2.resize(seeds.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    samples = lab[small_seeds]
    mean = samples.mean(0)
    limit = max(SIMILAR_COLOUR, 2.5 * float(np.sqrt(((samples - mean) ** 2).sum(1).mean())))
    similar = np.sqrt(((lab - mean) ** 2).sum(2)) <= limit
    grown = _connected_to(similar, small_seeds)
    found = Box.of_mask(grown)
    return Box(
        math.floor(found.x0 / scale), math.floor(found.y0 / scale), math.ceil(found.x1 / scale),
        math.ceil(found.y1 / scale),
    ).clipped(width, height)  # fmt: skip


def box_grabcut_mask(
    photo: np.ndarray, corner: Sequence[float], opposite: Sequence[float]
) -> tuple[Box, np.ndarray] | None:
    """The object inside a box (x, y corners, any order): ``(box, mask)``, or None for an empty box."""
    height, width = photo.shape[:2]
    (x0, y0), (x1, y1) = _as_points([corner, opposite], "box corners")
    inner = Box(
        math.floor(min(x0, x1) + 0.5), math.floor(min(y0, y1) + 0.5), math.floor(max(x0, x1) + 0.5) + 1,
        math.floor(max(y0, y1) + 0.5) + 1,
    ).clipped(width, height)  # fmt: skip
    if inner.width < 3 or inner.height < 3:
        return None
    crop = _expand(inner, max(8, max(inner.width, inner.height) // 8), width, height)
    seeds = np.full((crop.height, crop.width), cv2.GC_BGD, np.uint8)
    seeds[inner.shifted(-crop.x0, -crop.y0).slices] = cv2.GC_PR_FGD
    return crop, grabcut(photo[crop.slices], seeds)


def snap_mask(photo: np.ndarray, points: Iterable[Sequence[float]], radius: float) -> tuple[Box, np.ndarray] | None:
    """What the snap brush paints along a stroke: ``(box, mask)``, or None outside the photo."""
    height, width = photo.shape[:2]
    outer = stroke_mask(points, 1.5 * radius + 1, "round", (width, height))
    if outer is None:
        return None
    points = list(points)
    core = stroke_mask(points, radius / 3, "round", (width, height))
    box, reach = outer
    crop = _expand(box, 2, width, height)
    markers = np.full((crop.height, crop.width), 2, np.int32)  # 2: beyond the brush's reach
    local = box.shifted(-crop.x0, -crop.y0)
    markers[local.slices][reach] = 0  # 0: undecided, the watershed floods it
    core_local = np.zeros(markers.shape, bool)
    core_box, core_mask = core
    core_local[core_box.shifted(-crop.x0, -crop.y0).slices] = core_mask
    markers[core_local] = 1
    cv2.watershed(cv2.cvtColor(photo[crop.slices], cv2.COLOR_RGB2BGR), markers)
    return crop, (markers == 1) | core_local


def commit_fill_mask(
    doc: Document, label_set: LabelSet, box: Box, mask: np.ndarray, label_id: int, title: str = "Smart fill"
) -> bool:
    """Commit a mask found earlier (e.g. on a worker thread) as one step; the box must lie in the document."""
    label_id = _check_label_id(doc, label_set, label_id)
    if box.clipped(doc.width, doc.height) != box or mask.shape != (box.height, box.width):
        raise EditError(f"fill mask {mask.shape} at {box} does not fit the {doc.width}x{doc.height} document")
    return _commit_mask(doc, title, box, mask, label_id, write_instance=True)


def smart_fill_stroke(
    doc: Document,
    label_set: LabelSet,
    points: Iterable[Sequence[float]],
    label_id: int,
    *,
    radius: float = 2.0,
    margin: int | None = None,
) -> bool:
    """Fill the object under a stroke (x, y points) with ``label_id``, grown along the photo's edges."""
    label_id = _check_label_id(doc, label_set, label_id)
    found = stroke_grabcut_mask(_photo(doc, "Smart fill"), points, radius, margin)
    if found is None:
        return False
    return _commit_mask(doc, "Smart fill", *found, label_id, write_instance=True)


def smart_fill_box(
    doc: Document, label_set: LabelSet, corner: Sequence[float], opposite: Sequence[float], label_id: int
) -> bool:
    """Fill the object inside a box (corners x, y) with ``label_id``."""
    label_id = _check_label_id(doc, label_set, label_id)
    found = box_grabcut_mask(_photo(doc, "Smart fill"), corner, opposite)
    if found is None:
        return False
    return _commit_mask(doc, "Smart fill", *found, label_id, write_instance=True)


def snap_paint_stroke(
    doc: Document, label_set: LabelSet, points: Iterable[Sequence[float]], label_id: int, radius: float
) -> bool:
    """Paint ``label_id`` along a stroke, its outline snapped to the photo's edges (a plain brush without photo).

    One call is one undo step; a canvas that calls it dab by dab groups the drag (see ``paint_stroke``).
    """
    if doc.photo is None:
        return paint_stroke(doc, label_set, points, label_id, radius)
    label_id = _check_label_id(doc, label_set, label_id)
    found = snap_mask(doc.photo, points, radius)
    if found is None:
        return False
    return _commit_mask(doc, "Snap brush", *found, label_id, write_instance=True)
