"""Edits: every change a person makes to a document, each recorded as one undo step.

Coordinates are image coordinates ``(x, y)`` = (column, row); pixel ``(x, y)`` has its centre
at exactly ``(x, y)``. (A Qt canvas whose pixel ``x`` spans ``[x, x + 1)`` subtracts 0.5.)

Every edit returns True when it changed the document and recorded a step, False when there
was nothing to change (no step is recorded then). Label ids are checked against the document's
label set, passed in as a :class:`LabelSet` (the document stores only its id).

Instance maps: shape tools (brush, polygon, rectangle) write the new class id into the instance
map too, so a drawn shape gets its own outline for engines that read instance edges; region
tools (flood fill, relabel, replace class) keep instance ids, so the outlines of the objects
inside the region survive the change of class.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import cv2
import numpy as np

from .document import (
    Document,
    DocumentError,
    EngineSettings,
    StyleMix,
    StyleSourceData,
    check_style_mix,
    is_engine_style,
    mix_with_weight,
)
from .history import ArrayPatch, Box, Command
from .labelsets import LabelIdError, LabelSet
from .titles import class_name as titles_class_name
from .titles import engine_title, paint_title, style_title

log = logging.getLogger(__name__)

BrushTip = Literal["round", "square"]
Point = tuple[float, float]

#: Largest brush radius in pixels; far beyond the ~250 a 500 px brush needs.
MAX_BRUSH_RADIUS = 4096.0

# Thinnest radii that still leave no gaps between the pixels of a diagonal stroke: every point
# of a segment lies within sqrt(0.5) of a pixel centre (round) or within 0.5 along both axes
# of one (square).
_MIN_RADIUS = {"round": 0.708, "square": 0.5}


class EditError(DocumentError):
    """An edit was given arguments it cannot work with (bad points, radius, names)."""


# -- commands ------------------------------------------------------------------------------
class PixelEditCommand:
    """Undoable change of label/instance pixels, kept as sparse :class:`ArrayPatch` diffs."""

    def __init__(self, doc: Document, title: str, patches: Sequence[ArrayPatch]):
        self.doc = doc
        self.title = title
        self.patches = list(patches)

    def undo(self) -> None:
        for patch in reversed(self.patches):
            patch.write_before(self.doc.layer(patch.layer))
            self.doc.notify_layer(patch.layer, patch.box)

    def redo(self) -> None:
        for patch in self.patches:
            patch.write_after(self.doc.layer(patch.layer))
            self.doc.notify_layer(patch.layer, patch.box)

    def nbytes(self) -> int:
        return sum(patch.nbytes for patch in self.patches)

    @classmethod
    def combine(cls, commands: Sequence[PixelEditCommand]) -> list[Command]:
        """Fold the dabs of one grouped stroke into a single diff per layer."""
        doc = commands[0].doc
        if any(command.doc is not doc for command in commands):
            return list(commands)
        by_layer: dict[str, list[ArrayPatch]] = {}
        for command in commands:
            for patch in command.patches:
                by_layer.setdefault(patch.layer, []).append(patch)
        merged = [ArrayPatch.merge(patches) for patches in by_layer.values()]
        patches = [patch for patch in merged if patch is not None]
        return [cls(doc, commands[0].title, patches)] if patches else []


class FieldsCommand:
    """Undoable replacement of document fields (styles, crossover, engine settings)."""

    def __init__(self, doc: Document, title: str, before: dict[str, Any], after: dict[str, Any]):
        self.doc = doc
        self.title = title
        self.before = before
        self.after = after

    def undo(self) -> None:
        self.doc.replace_fields(**self.before)

    def redo(self) -> None:
        self.doc.replace_fields(**self.after)

    def nbytes(self) -> int:
        # The values are small and shared with the document; count the entries only.
        return 64 * (len(self.before) + len(self.after))

    @classmethod
    def combine(cls, commands: Sequence[FieldsCommand]) -> list[Command]:
        """Fold a slider drag into one step: earliest old value and latest new value per field."""
        doc = commands[0].doc
        if any(command.doc is not doc for command in commands):
            return list(commands)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for command in commands:
            for name, value in command.before.items():
                before.setdefault(name, value)
            after.update(command.after)
        if all(before[name] == after[name] for name in before):
            return []
        return [cls(doc, commands[0].title, before, after)]


# -- shared checks -------------------------------------------------------------------------
def _check_label_id(doc: Document, label_set: LabelSet, label_id: int) -> int:
    """The class id as an int, or LabelIdError when the document's label set lacks it."""
    if label_set.id != doc.label_set_id:
        raise EditError(f"label set {label_set.id!r} does not match the document's {doc.label_set_id!r}")
    if isinstance(label_id, bool) or not isinstance(label_id, (int, np.integer)):
        raise LabelIdError(f"class id must be an integer, got {label_id!r}", [])
    label_id = int(label_id)
    if label_id not in label_set.valid_ids():
        raise LabelIdError(f"{label_set.display_name} has no class id {label_id}", [label_id])
    return label_id


def _as_points(points: Iterable[Sequence[float]], what: str) -> np.ndarray:
    """(N, 2) float64 array of finite (x, y) points."""
    try:
        array = np.asarray([(float(p[0]), float(p[1])) for p in points], dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError, IndexError) as exc:
        raise EditError(f"{what} must be (x, y) pairs: {exc}") from exc
    if not np.isfinite(array).all():
        raise EditError(f"{what} contain non-finite coordinates")
    return array


def _pixel(doc: Document, point: Sequence[float]) -> tuple[int, int] | None:
    """Nearest pixel (x, y) to ``point``, or None when it falls outside the image."""
    x, y = (math.floor(float(v) + 0.5) for v in point)
    if 0 <= x < doc.width and 0 <= y < doc.height:
        return x, y
    return None


# -- committing changes --------------------------------------------------------------------
def _commit_mask(doc: Document, title: str, box: Box, mask: np.ndarray, label_id: int, *, write_instance: bool) -> bool:
    """Set ``mask`` (bool, the size of ``box``) to ``label_id`` and record one step."""
    doc.ensure_label_capacity(label_id)
    layers = ["label"] + (["instance"] if write_instance and doc.instance is not None else [])
    rows, cols = box.slices
    patches = []
    for layer in layers:
        array = doc.layer(layer)
        before = array[rows, cols]
        after = before.copy()
        after[mask] = label_id
        patch = ArrayPatch.capture(layer, box, before, after)
        if patch is not None:
            array[rows, cols] = after
            patches.append(patch)
    if not patches:
        return False
    for patch in patches:
        doc.notify_layer(patch.layer, patch.box)
    doc.history.push(PixelEditCommand(doc, title, patches))
    return True


def _commit_fields(doc: Document, title: str, **after: Any) -> bool:
    """Replace document fields and record one step, unless every value is already so."""
    before = {name: getattr(doc, name) for name in after}
    if all(before[name] == after[name] for name in after):
        return False
    doc.replace_fields(**after)
    doc.history.push(FieldsCommand(doc, title, before, after))
    return True


# -- rasterising ---------------------------------------------------------------------------
def _segment_mask(
    xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, tip: BrushTip
) -> np.ndarray:
    """Pixels (centres at ``xs`` (1, w) x ``ys`` (h, 1)) swept by the tip moving from a to b."""
    d = b - a
    px, py = xs - a[0], ys - a[1]
    if tip == "round":
        length2 = float(d @ d)
        t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        ex, ey = px - t * d[0], py - t * d[1]
        return ex * ex + ey * ey <= radius * radius + 1e-9
    # Square tip: the Minkowski sum of the segment and the square. A pixel is covered when some
    # t in [0, 1] puts it within `radius` of a + t*d along both axes; intersect those intervals.
    lo_x, hi_x = _axis_interval(px, d[0], radius)
    lo_y, hi_y = _axis_interval(py, d[1], radius)
    return np.maximum(np.maximum(lo_x, lo_y), 0.0) <= np.minimum(np.minimum(hi_x, hi_y), 1.0) + 1e-9


def _axis_interval(offset: np.ndarray, step: float, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Range of t with |offset - t * step| <= radius (empty as lo > hi)."""
    if step == 0:
        inside = np.abs(offset) <= radius + 1e-9
        return np.where(inside, -np.inf, np.inf), np.where(inside, np.inf, -np.inf)
    t1, t2 = (offset - radius) / step, (offset + radius) / step
    return np.minimum(t1, t2), np.maximum(t1, t2)


def _reach_box(points: np.ndarray, radius: float, width: int, height: int) -> Box:
    """Box of every pixel a tip of ``radius`` around ``points`` (N, 2) can touch, clipped."""
    low = np.floor(points.min(axis=0) - radius)
    high = np.ceil(points.max(axis=0) + radius) + 1
    low = np.clip(low, 0, [width, height]).astype(int)
    high = np.clip(high, 0, [width, height]).astype(int)
    return Box(int(low[0]), int(low[1]), int(high[0]), int(high[1]))


def stroke_mask(
    points: Iterable[Sequence[float]], radius: float, tip: BrushTip, size: tuple[int, int]
) -> tuple[Box, np.ndarray] | None:
    """Pixels covered by a brush dragged along a polyline, clipped to an image of ``size`` (W, H).

    points: (x, y) pairs, one or more; consecutive points are joined, so the stroke has no gaps.
    radius: pixels from the path that are covered (round: Euclidean, square: per axis);
    a brush of diameter d px has radius (d - 1) / 2, and 0 draws a 1-pixel line.
    Returns ``(box, mask)`` with mask a (box.height, box.width) bool array, or None when the
    stroke lies entirely outside the image.
    """
    if tip not in _MIN_RADIUS:
        raise EditError(f"brush tip must be 'round' or 'square', got {tip!r}")
    if not 0 <= radius <= MAX_BRUSH_RADIUS:
        raise EditError(f"brush radius {radius} outside 0..{MAX_BRUSH_RADIUS:g}")
    path = _as_points(points, "stroke points")
    if len(path) == 0:
        return None
    radius = max(float(radius), _MIN_RADIUS[tip])
    width, height = size
    box = _reach_box(path, radius, width, height)
    if box.is_empty():
        return None
    mask = np.zeros((box.height, box.width), dtype=bool)
    segments = zip(path, path[1:], strict=False) if len(path) > 1 else [(path[0], path[0])]
    for a, b in segments:
        reach = _reach_box(np.stack([a, b]), radius, width, height)
        if reach.is_empty():
            continue
        xs = np.arange(reach.x0, reach.x1, dtype=np.float64)[None, :]
        ys = np.arange(reach.y0, reach.y1, dtype=np.float64)[:, None]
        rows, cols = reach.shifted(-box.x0, -box.y0).slices
        mask[rows, cols] |= _segment_mask(xs, ys, a, b, radius, tip)
    return box, mask


def polygon_mask(points: Iterable[Sequence[float]], size: tuple[int, int]) -> tuple[Box, np.ndarray] | None:
    """Pixels whose centres lie inside (or on the edge of) a polygon, clipped to ``size`` (W, H).

    Returns ``(box, mask)`` as :func:`stroke_mask`, or None for fewer than 3 vertices or a
    polygon entirely outside the image.
    """
    vertices = _as_points(points, "polygon points")
    if len(vertices) < 3:
        return None
    box = _reach_box(vertices, 0.0, *size)
    if box.is_empty():
        return None
    # cv2 wants integer vertices; 8 fractional bits keep sub-pixel clicks where they were.
    shift = 8
    local = np.round((vertices - [box.x0, box.y0]) * (1 << shift)).astype(np.int64)
    local = np.clip(local, -(1 << 30), 1 << 30).astype(np.int32)
    canvas = np.zeros((box.height, box.width), dtype=np.uint8)
    cv2.fillPoly(canvas, [local.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=shift)
    return box, canvas.astype(bool)


def connected_region_mask(
    label: np.ndarray, seed: tuple[int, int], connectivity: Literal[4, 8] = 4
) -> tuple[Box, np.ndarray]:
    """The connected component of same-class pixels under ``seed`` (x, y) in an (H, W) label map.

    Returns ``(box, mask)``: the component's tight box and its (box.height, box.width) bool mask.
    """
    x, y = seed
    same = (label == label[y, x]).astype(np.uint8)
    _, components, stats, _ = cv2.connectedComponentsWithStats(same, connectivity=connectivity, ltype=cv2.CV_32S)
    component = components[y, x]
    left, top, w, h = (int(v) for v in stats[component, :4])
    box = Box(left, top, left + w, top + h)
    return box, components[box.slices] == component


# -- pixel edits ---------------------------------------------------------------------------
def paint_stroke(
    doc: Document,
    label_set: LabelSet,
    points: Iterable[Sequence[float]],
    label_id: int,
    radius: float,
    tip: BrushTip = "round",
) -> bool:
    """Paint ``label_id`` along a polyline of (x, y) image points; see :func:`stroke_mask`.

    One call is one undo step; a canvas that paints dab by dab while the mouse moves wraps
    the drag in ``with doc.history.group("Brush"):`` to make the whole drag one step.
    """
    label_id = _check_label_id(doc, label_set, label_id)
    covered = stroke_mask(points, radius, tip, doc.size)
    if covered is None:
        return False
    return _commit_mask(doc, paint_title("Brush", label_set, label_id), *covered, label_id, write_instance=True)


def fill_polygon(doc: Document, label_set: LabelSet, points: Iterable[Sequence[float]], label_id: int) -> bool:
    """Set every pixel inside the polygon of (x, y) vertices to ``label_id``."""
    label_id = _check_label_id(doc, label_set, label_id)
    covered = polygon_mask(points, doc.size)
    if covered is None:
        return False
    return _commit_mask(doc, paint_title("Polygon fill", label_set, label_id), *covered, label_id, write_instance=True)


def fill_rectangle(
    doc: Document, label_set: LabelSet, corner: Sequence[float], opposite: Sequence[float], label_id: int
) -> bool:
    """Set the pixels from ``corner`` to ``opposite`` (x, y; both included, any order) to ``label_id``."""
    label_id = _check_label_id(doc, label_set, label_id)
    (x0, y0), (x1, y1) = _as_points([corner, opposite], "rectangle corners")
    left, right = sorted((math.floor(x0 + 0.5), math.floor(x1 + 0.5)))
    top, bottom = sorted((math.floor(y0 + 0.5), math.floor(y1 + 0.5)))
    box = Box(left, top, right + 1, bottom + 1).clipped(doc.width, doc.height)
    if box.is_empty():
        return False
    mask = np.ones((box.height, box.width), dtype=bool)
    title = paint_title("Rectangle fill", label_set, label_id)
    return _commit_mask(doc, title, box, mask, label_id, write_instance=True)


def flood_fill(
    doc: Document,
    label_set: LabelSet,
    seed: Sequence[float],
    label_id: int,
    *,
    connectivity: Literal[4, 8] = 4,
    title: str = "Flood fill",
) -> bool:
    """Give the connected region of same-class pixels under ``seed`` (x, y) the class ``label_id``.

    Regions are 4-connected by default. A seed outside the image changes nothing.
    """
    label_id = _check_label_id(doc, label_set, label_id)
    pixel = _pixel(doc, seed)
    if pixel is None or int(doc.label[pixel[1], pixel[0]]) == label_id:
        return False
    box, mask = connected_region_mask(doc.label, pixel, connectivity)
    return _commit_mask(doc, paint_title(title, label_set, label_id), box, mask, label_id, write_instance=False)


def relabel_region(doc: Document, label_set: LabelSet, point: Sequence[float], label_id: int) -> bool:
    """Give the whole connected region under ``point`` (x, y) the class ``label_id``."""
    return flood_fill(doc, label_set, point, label_id, title="Relabel as")


def replace_class(doc: Document, label_set: LabelSet, old_id: int, new_id: int) -> bool:
    """Give every pixel of class ``old_id``, anywhere in the map, the class ``new_id``."""
    new_id = _check_label_id(doc, label_set, new_id)
    mask = doc.label == int(old_id)
    box = Box.of_mask(mask)
    if box is None or int(old_id) == new_id:
        return False
    title = f"Replace {titles_class_name(label_set, int(old_id))} → {titles_class_name(label_set, new_id)}"
    return _commit_mask(doc, title, box, mask[box.slices], new_id, write_instance=False)


# -- style edits ---------------------------------------------------------------------------
def add_style_source(doc: Document, name: str, source: StyleSourceData) -> bool:
    """Add a style source under a new ``name`` (EditError when the name is taken or empty)."""
    if not isinstance(name, str) or not name.strip():
        raise EditError(f"style source name must be a non-empty string, got {name!r}")
    if name.startswith("@"):
        raise EditError(f"style source names starting with '@' are reserved for engine styles ({name!r})")
    if name in doc.style_sources:
        raise EditError(f"there already is a style source named {name!r}")
    if not isinstance(source, StyleSourceData):
        raise EditError(f"style source {name!r} must be StyleSourceData, got {type(source).__name__}")
    return _commit_fields(doc, f"Add style {name}", style_sources={**doc.style_sources, name: source})


def remove_style_source(doc: Document, name: str) -> bool:
    """Remove a style source and every use of it, as one step.

    Mixes that used it are rescaled over their remaining sources; a region left with no
    source falls back to the default mix; crossover entries naming it are dropped.
    """
    if name not in doc.style_sources:
        return False
    regions = {}
    for class_id, mix in doc.region_styles.items():
        remaining = _mix_without(mix, name)
        if remaining:
            regions[class_id] = remaining
    return _commit_fields(
        doc,
        f"Remove style {name}",
        style_sources={key: value for key, value in doc.style_sources.items() if key != name},
        region_styles=regions,
        default_style=_mix_without(doc.default_style, name),
        crossover={block: source for block, source in doc.crossover.items() if source != name},
    )


def _mix_without(mix: StyleMix, name: str) -> StyleMix:
    rest = [(source, weight) for source, weight in mix if source != name]
    total = sum(weight for _, weight in rest)
    if not rest:
        return ()
    if total <= 0:
        return tuple((source, 1.0 / len(rest)) for source, _ in rest)
    return tuple((source, weight / total) for source, weight in rest)


def assign_style(
    doc: Document,
    label_set: LabelSet,
    mix: Iterable[tuple[str, float]] | None,
    regions: Iterable[int] | None = None,
) -> bool:
    """Give regions a style mix of ``(source name, weight)`` pairs summing to 1.

    regions: class ids, or None for all regions: the mix becomes the default and per-region
    mixes are cleared. ``mix=None`` removes the regions' own mixes (they use the default again);
    with ``regions=None`` it clears the default as well (the engine's own style everywhere).
    """
    if regions is None:
        default = check_style_mix(mix, doc.style_sources, allow_empty=True, where="default style")
        title = style_title(label_set, None, [doc.default_style], default)
        return _commit_fields(doc, title, default_style=default, region_styles={})
    class_ids = [_check_label_id(doc, label_set, class_id) for class_id in regions]
    styles = dict(doc.region_styles)
    before = [doc.region_styles.get(class_id) for class_id in class_ids]
    if mix is None:
        for class_id in class_ids:
            styles.pop(class_id, None)
        title = style_title(label_set, class_ids, before, None)
    else:
        checked = check_style_mix(mix, doc.style_sources, where="region style")
        styles.update(dict.fromkeys(class_ids, checked))
        title = style_title(label_set, class_ids, [doc.style_of_region(c) for c in class_ids], checked)
    return _commit_fields(doc, title, region_styles=styles)


def set_style_weight(doc: Document, label_set: LabelSet, region: int | None, source: str, weight: float) -> bool:
    """Set how much ``source`` weighs (0..1) in a region's mix (None: the default mix).

    The other sources of the mix are rescaled to fill the rest (see ``mix_with_weight``); a
    region without its own mix starts from the default one.
    """
    if source not in doc.style_sources and not is_engine_style(source):
        raise EditError(f"unknown style source {source!r}")
    if region is None:
        mix = mix_with_weight(doc.default_style, source, float(weight))
        return _commit_fields(doc, style_title(label_set, None, [doc.default_style], mix), default_style=mix)
    class_id = _check_label_id(doc, label_set, region)
    mix = mix_with_weight(doc.style_of_region(class_id), source, float(weight))
    title = style_title(label_set, [class_id], [doc.style_of_region(class_id)], mix)
    return _commit_fields(doc, title, region_styles={**doc.region_styles, class_id: mix})


def set_crossover(doc: Document, block: str, source: str | None) -> bool:
    """Let generator block ``block`` take its style from ``source`` (None: no crossover there)."""
    if source is not None and source not in doc.style_sources:
        raise EditError(f"unknown style source {source!r} for crossover block {block!r}")
    crossover = {key: value for key, value in doc.crossover.items() if key != block}
    if source is not None:
        crossover[block] = source
    old = doc.crossover.get(block) or "—"
    return _commit_fields(doc, f"Crossover {block}: {old} → {source or '—'}", crossover=crossover)


def set_engine_settings(doc: Document, settings: EngineSettings | None = None, **changes: Any) -> bool:
    """Replace the engine settings, or change some of them: ``set_engine_settings(doc, seed=3)``."""
    base = doc.engine if settings is None else settings
    try:
        new = base.replaced(**changes) if changes else base
    except TypeError as exc:
        raise EditError(f"unknown engine setting: {exc}") from exc
    return _commit_fields(doc, engine_title(doc.engine, new), engine=new)


def set_composite_settings(doc: Document, **changes: Any) -> bool:
    """Change how renders go onto the photo: ``set_composite_settings(doc, mode="seamless", band=16)``."""
    try:
        new = doc.composite.replaced(**changes)
    except TypeError as exc:
        raise EditError(f"unknown composite setting: {exc}") from exc
    return _commit_fields(doc, "Compositing", composite=new)
