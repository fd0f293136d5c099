"""The document: photo, label map, instance map, style sources, region styles and engine settings.

Pure data plus change notification. Undoable changes go through :mod:`regionpaint.app.model.edits`; the
fields here are replaced, never mutated in place (except the pixels of the label and instance
layers, which edits change inside a box and record as diffs).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from regionpaint.types import ENGINE_STYLE_PREFIX, StyleMix

from .history import Box, History

log = logging.getLogger(__name__)


#: How far the weights of a mix may sum from 1.
WEIGHT_TOLERANCE = 1e-3


#: Style source names starting with this are provided by the engine itself (engines with the
#: ``mean_style`` capability: SEAN's ``@mean`` and ``@random``). Mixes may name them without a matching
#: entry in ``style_sources``; the render service drops them for engines that provide none. The
#: document knows only this convention, not which names an engine offers.
def is_engine_style(name: str) -> bool:
    """True for a style source the engine provides (``@mean``, ``@random``), not the document."""
    return name.startswith(ENGINE_STYLE_PREFIX)


class DocumentError(ValueError):
    """Base of every error the model reports to a person: one line naming the file and the problem."""


class SizeMismatchError(DocumentError):
    """Photo, label map and instance map (or a style image and its maps) differ in size."""


class StyleMixError(DocumentError):
    """A style mix names an unknown source, has a negative weight, or does not sum to 1."""


class EventKind(str, Enum):
    """What changed; label and instance events carry the changed box."""

    LABEL = "label"
    INSTANCE = "instance"
    PHOTO = "photo"
    STYLE_SOURCES = "style_sources"
    STYLE_ASSIGNMENTS = "style_assignments"
    CROSSOVER = "crossover"
    ENGINE = "engine"
    COMPOSITE = "composite"
    RENDER = "render"
    HISTORY = "history"


class DocumentEvent(NamedTuple):
    """A change notification: ``bbox`` is the touched pixel box, or None for "all of it"."""

    kind: EventKind
    bbox: Box | None = None


# -- array checks --------------------------------------------------------------------------
def as_photo_array(photo: np.ndarray, what: str = "photo") -> np.ndarray:
    """Check a photo: (H, W, 3) uint8 RGB."""
    if not isinstance(photo, np.ndarray) or photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise DocumentError(f"{what} must be an (H, W, 3) uint8 RGB array, got {_describe(photo)}")
    return photo


def as_label_array(label: np.ndarray, what: str = "label map") -> np.ndarray:
    """Check a label map and return it as (H, W) uint8, or uint16 when ids above 255 need it."""
    if not isinstance(label, np.ndarray) or label.ndim != 2:
        raise DocumentError(f"{what} must be an (H, W) array of class ids, got {_describe(label)}")
    if label.dtype in (np.uint8, np.uint16):
        return label
    if not np.issubdtype(label.dtype, np.integer):
        raise DocumentError(f"{what} must hold integer class ids, got dtype {label.dtype}")
    low, high = (int(label.min()), int(label.max())) if label.size else (0, 0)
    if low < 0 or high > 65535:
        raise DocumentError(f"{what} holds ids {low}..{high}; class ids must lie in 0..65535")
    return label.astype(np.uint8 if high <= 255 else np.uint16)


def as_instance_array(instance: np.ndarray, what: str = "instance map") -> np.ndarray:
    """Check an instance map and return it as (H, W) int32."""
    if not isinstance(instance, np.ndarray) or instance.ndim != 2 or not np.issubdtype(instance.dtype, np.integer):
        raise DocumentError(f"{what} must be an (H, W) integer array, got {_describe(instance)}")
    if instance.dtype == np.int32:
        return instance
    info = np.iinfo(np.int32)
    if instance.size and (int(instance.min()) < info.min or int(instance.max()) > info.max):
        raise DocumentError(f"{what} holds ids that do not fit in 32 bits")
    return instance.astype(np.int32)


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"shape {array.shape} dtype {array.dtype}"
    return type(array).__name__


_ROLE_TEXT = {"label": "label map", "photo": "photo", "instance": "instance map"}


def _named(what: str, name: str | None) -> str:
    return f"{what} {name}" if name else what


def _size_text(array: np.ndarray) -> str:
    return f"{array.shape[1]}x{array.shape[0]}"


# -- resizing ------------------------------------------------------------------------------
def scale_id_map(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W) id map to ``size`` = (W, H), keeping the dtype.

    Done with index arithmetic rather than cv2 so that every integer dtype (int32 included)
    keeps its exact values. (Engines resize with PIL NEAREST, as the official code does:
    ``regionpaint.engines.layers.imageops.resize_nearest``; this one fits a document's own layers.)
    """
    width, height = size
    rows = np.minimum(((np.arange(height) + 0.5) * array.shape[0] / height).astype(np.intp), array.shape[0] - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * array.shape[1] / width).astype(np.intp), array.shape[1] - 1)
    return array[rows[:, None], cols[None, :]]


def resize_photo(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of an (H, W, 3) uint8 photo to ``size`` = (W, H)."""
    return np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BICUBIC))


def fit_layers(
    label: np.ndarray,
    photo: np.ndarray | None = None,
    instance: np.ndarray | None = None,
    *,
    resize: bool = False,
    size: tuple[int, int] | None = None,
    names: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Make photo, label and instance map the same size, or say which ones differ.

    Without ``resize`` a mismatch raises :class:`SizeMismatchError`. With it, everything is
    resampled to ``size`` (W, H), by default the label map's size, since the label map is what
    is edited and rendered: label and instance nearest-neighbour, photo bicubic.
    ``names`` (role -> file name) makes the messages point at files.
    Returns ``(label, photo, instance)``.
    """
    names = dict(names or {})
    layers = {"label": label, "photo": photo, "instance": instance}
    target = size if resize and size is not None else (label.shape[1], label.shape[0])
    mismatched = [
        role for role, array in layers.items() if array is not None and (array.shape[1], array.shape[0]) != target
    ]
    if not mismatched:
        return label, photo, instance
    if not resize:
        role = mismatched[0]
        raise SizeMismatchError(
            f"{_named(_ROLE_TEXT[role], names.get(role))} is {_size_text(layers[role])} but "
            f"{_named('label map', names.get('label'))} is {_size_text(label)}"
        )
    log.info("resampling %s to %dx%d", ", ".join(mismatched), *target)
    label = scale_id_map(label, target) if "label" in mismatched else label
    instance = scale_id_map(instance, target) if "instance" in mismatched else instance
    photo = resize_photo(photo, target) if "photo" in mismatched else photo
    return label, photo, instance


# -- style mixes ---------------------------------------------------------------------------
def check_style_mix(
    mix: Iterable[tuple[str, float]] | None,
    known_sources: Collection[str] | None = None,
    *,
    allow_empty: bool = False,
    where: str = "style mix",
) -> StyleMix:
    """Validate a mix and return it as a tuple of ``(str, float)`` pairs.

    Raises :class:`StyleMixError` for unknown or repeated sources, negative or non-finite
    weights, or weights not summing to 1 within :data:`WEIGHT_TOLERANCE`. An empty mix (no
    style: the engine's own) is allowed only with ``allow_empty``. The engine-provided names of
    Engine-provided names (:func:`is_engine_style`) are always known.
    """
    try:
        pairs = tuple((str(name), float(weight)) for name, weight in (mix or ()))
    except (TypeError, ValueError) as exc:
        raise StyleMixError(f"{where} must be (source name, weight) pairs: {exc}") from exc
    if not pairs:
        if allow_empty:
            return ()
        raise StyleMixError(f"{where} is empty; give at least one style source")
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise StyleMixError(f"{where} names a style source twice: {names}")
    if known_sources is not None:
        unknown = [name for name in names if name not in known_sources and not is_engine_style(name)]
        if unknown:
            raise StyleMixError(f"{where} refers to unknown style source(s) {unknown}")
    weights = [weight for _, weight in pairs]
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise StyleMixError(f"{where} has a negative or non-finite weight: {weights}")
    if abs(sum(weights) - 1.0) > WEIGHT_TOLERANCE:
        raise StyleMixError(f"{where} weights sum to {sum(weights):.6g}, not 1")
    return pairs


def mix_with_weight(mix: StyleMix, source: str, weight: float) -> StyleMix:
    """Give ``source`` the weight ``weight`` (0..1) and scale the others to fill the rest.

    ``source`` is appended when missing. Others keep their proportions; when they all weigh 0
    they share the rest equally. A mix of ``source`` alone stays at weight 1.
    """
    if not 0.0 <= weight <= 1.0:
        raise StyleMixError(f"weight {weight} for style source {source!r} is outside 0..1")
    others = [(name, w) for name, w in mix if name != source]
    if not others:
        return ((source, 1.0),)
    total = sum(w for _, w in others)
    rest = 1.0 - weight
    scaled = [(name, rest * w / total if total > 0 else rest / len(others)) for name, w in others]
    names = [name for name, _ in mix]
    ordered = dict(scaled)
    ordered[source] = weight
    order = names if source in names else [*names, source]
    return tuple((name, float(ordered[name])) for name in order)


# -- value types ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class StyleSourceData:
    """An image that lends its style, with optional label/instance maps of its own size.

    image: (h, w, 3) uint8 RGB; label: (h, w) uint8/uint16 class ids or None;
    instance: (h, w) int32 or None. Sizes may differ from the document's.
    """

    image: np.ndarray
    label: np.ndarray | None = None
    instance: np.ndarray | None = None
    display_name: str = ""

    def __post_init__(self) -> None:
        where = f"style source {self.display_name!r}" if self.display_name else "style source"
        as_photo_array(self.image, f"{where} image")
        if self.label is not None:
            object.__setattr__(self, "label", as_label_array(self.label, f"{where} label map"))
        if self.instance is not None:
            object.__setattr__(self, "instance", as_instance_array(self.instance, f"{where} instance map"))
        for what, array in (("label map", self.label), ("instance map", self.instance)):
            if array is not None and array.shape != self.image.shape[:2]:
                raise SizeMismatchError(
                    f"{where} {what} is {_size_text(array)} but its image is {_size_text(self.image)}"
                )

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) in pixels."""
        return self.image.shape[1], self.image.shape[0]


@dataclass(frozen=True)
class EngineSettings:
    """Which engine renders the document and how.

    ``output_size`` is (W, H) or None for the label map's size; ``options`` holds
    engine-specific JSON-serialisable values; ``package`` / ``package_version`` name the distribution
    that provided the engine (``"regionpaint"`` for the built-ins).
    """

    engine_id: str = ""
    checkpoint: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    device: str = "auto"
    seed: int = 0
    noise: bool = True
    output_size: tuple[int, int] | None = None
    # The installed package that provides ``engine_id`` and its version, recorded so that opening the
    # project where it is missing can say what to install (empty: unknown, e.g. older files).
    package: str = ""
    package_version: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", dict(self.options))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise DocumentError(f"engine seed must be an integer, got {self.seed!r}")
        if self.output_size is not None:
            size = tuple(self.output_size)
            if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
                raise DocumentError(f"output size must be two positive integers (W, H), got {self.output_size!r}")
            object.__setattr__(self, "output_size", size)

    def replaced(self, **changes: Any) -> EngineSettings:
        """A copy with ``changes`` applied (unknown names raise TypeError)."""
        return dataclasses.replace(self, **changes)


#: How a render goes onto the photo (app/render/composite.py): the modes a person picks from, and
#: ``pyramid``, the Laplacian-pyramid alternative to ``seamless`` kept for measurements.
COMPOSITE_MODES: tuple[str, ...] = ("off", "feather", "seamless")
ALL_COMPOSITE_MODES: tuple[str, ...] = (*COMPOSITE_MODES, "pyramid")
DEFAULT_COMPOSITE_BAND = 12  # pixels at the photo's resolution


@dataclass(frozen=True)
class CompositeSettings:
    """How a render is composited onto the document's photo.

    ``mode``: one of :data:`ALL_COMPOSITE_MODES`; ``band``: blend width in photo pixels (half inside the
    grown edit mask, half outside); ``harmonize``: match the render's colours to the photo's around the mask.
    """

    mode: str = "feather"
    band: int = DEFAULT_COMPOSITE_BAND
    harmonize: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ALL_COMPOSITE_MODES:
            raise DocumentError(f"composite mode must be one of {', '.join(ALL_COMPOSITE_MODES)}, got {self.mode!r}")
        if isinstance(self.band, bool) or not isinstance(self.band, int) or not 0 <= self.band <= 512:
            raise DocumentError(f"composite band must be a whole number of pixels in 0..512, got {self.band!r}")
        if not isinstance(self.harmonize, bool):
            raise DocumentError(f"composite harmonize must be true or false, got {self.harmonize!r}")

    def replaced(self, **changes: Any) -> CompositeSettings:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False)
class LastRender:
    """The document's last render: image (H, W, 3) uint8 RGB and how long it took in seconds.

    For a photo document with compositing on, ``image`` is the composite at the photo's size and
    ``raw`` the network's own output (kept so that a change of blend mode needs no new render).
    (Not the engine's ``RenderResult``: this is what the document keeps to show and export.)
    """

    image: np.ndarray
    seconds: float
    raw: np.ndarray | None = None

    def __post_init__(self) -> None:
        as_photo_array(self.image, "render")


# -- the document --------------------------------------------------------------------------
#: Fields that undoable commands replace, and the event each one raises.
_FIELD_EVENTS = {
    "style_sources": EventKind.STYLE_SOURCES,
    "region_styles": EventKind.STYLE_ASSIGNMENTS,
    "default_style": EventKind.STYLE_ASSIGNMENTS,
    "crossover": EventKind.CROSSOVER,
    "engine": EventKind.ENGINE,
    "composite": EventKind.COMPOSITE,
}

#: Pixel layers that edits change in place, and their events.
_LAYER_EVENTS = {"label": EventKind.LABEL, "instance": EventKind.INSTANCE}


class Document:
    """An open regionpaint document.

    Fields (read freely; change through :mod:`regionpaint.app.model.edits` so that undo works):

    - ``photo``: (H, W, 3) uint8 RGB or None
    - ``label``: (H, W) uint8 class ids (uint16 when a label set needs ids above 255)
    - ``instance``: (H, W) int32 instance ids or None
    - ``label_set_id``: id of the label set the ids belong to
    - ``style_sources``: name -> :class:`StyleSourceData`
    - ``region_styles``: class id -> :data:`StyleMix` overriding ``default_style`` for that region
    - ``default_style``: the mix for every region without its own; empty means the engine's own
    - ``crossover``: generator block name -> style source name
    - ``engine``: :class:`EngineSettings`
    - ``baseline``: (H, W) the photo's own segmentation (what the label map was before any edit), or
      None; with a photo it makes the document a photo edit (see :mod:`regionpaint.app.model.edit_mask`)
    - ``baseline_instance``: (H, W) int32 instance map of the baseline, or None
    - ``composite``: :class:`CompositeSettings`
    - ``last_render``: :class:`LastRender` or None (not part of undo)
    - ``history``: the :class:`History` of this document
    """

    def __init__(
        self,
        label: np.ndarray,
        label_set_id: str,
        *,
        photo: np.ndarray | None = None,
        instance: np.ndarray | None = None,
        resize: bool = False,
        size: tuple[int, int] | None = None,
        names: Mapping[str, str] | None = None,
    ):
        """Check and hold the layers; see :func:`fit_layers` for ``resize``, ``size`` and ``names``."""
        if not label_set_id or not isinstance(label_set_id, str):
            raise DocumentError(f"label set id must be a non-empty string, got {label_set_id!r}")
        names = dict(names or {})
        label = as_label_array(label, _named("label map", names.get("label")))
        photo = None if photo is None else as_photo_array(photo, _named("photo", names.get("photo")))
        if instance is not None:
            instance = as_instance_array(instance, _named("instance map", names.get("instance")))
        label, photo, instance = fit_layers(label, photo, instance, resize=resize, size=size, names=names)
        # Own the pixel layers: edits write into them in place.
        self.label: np.ndarray = np.array(label, copy=True)
        self.instance: np.ndarray | None = None if instance is None else np.array(instance, copy=True)
        self.photo: np.ndarray | None = photo
        self.label_set_id = label_set_id
        self.style_sources: dict[str, StyleSourceData] = {}
        self.region_styles: dict[int, StyleMix] = {}
        self.default_style: StyleMix = ()
        self.crossover: dict[str, str] = {}
        self.engine = EngineSettings()
        self.baseline: np.ndarray | None = None
        self.baseline_instance: np.ndarray | None = None
        self.composite = CompositeSettings()
        self.last_render: LastRender | None = None
        self._subscribers: list[Callable[[DocumentEvent], None]] = []
        self.history = History(on_change=lambda: self.notify(EventKind.HISTORY))

    # -- geometry ---------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.label.shape[1]

    @property
    def height(self) -> int:
        return self.label.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) in pixels."""
        return self.width, self.height

    # -- notification -----------------------------------------------------------------------
    def subscribe(self, callback: Callable[[DocumentEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def notify(self, kind: EventKind, bbox: Box | None = None) -> None:
        """Tell every subscriber that ``kind`` changed (inside ``bbox``, for pixel layers)."""
        event = DocumentEvent(kind, bbox)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                # One broken view must not stop the edit or the other views.
                log.exception("document subscriber %r failed on %s", callback, event)

    # -- low-level changes used by commands (no undo step) ------------------------------------
    def layer(self, name: str) -> np.ndarray:
        """The pixel layer ``"label"`` or ``"instance"`` (raises when the instance map is absent)."""
        array = {"label": self.label, "instance": self.instance}.get(name)
        if array is None:
            raise DocumentError(f"document has no {name} layer")
        return array

    def notify_layer(self, name: str, bbox: Box | None) -> None:
        self.notify(_LAYER_EVENTS[name], bbox)

    def ensure_label_capacity(self, class_id: int) -> None:
        """Widen the label map to uint16 before an id above 255 is written into it."""
        if class_id > np.iinfo(self.label.dtype).max:
            if class_id > 65535:
                raise DocumentError(f"class id {class_id} does not fit a 16-bit label map")
            self.label = self.label.astype(np.uint16)

    def replace_fields(self, **values: Any) -> None:
        """Set style/engine fields and notify; no undo step (see :mod:`regionpaint.app.model.edits`)."""
        unknown = values.keys() - _FIELD_EVENTS.keys()
        if unknown:
            raise AttributeError(f"Document has no replaceable field(s) {sorted(unknown)}")
        for name, value in values.items():
            setattr(self, name, value)
        for kind in dict.fromkeys(_FIELD_EVENTS[name] for name in values):
            self.notify(kind)

    def set_render(self, image: np.ndarray, seconds: float, raw: np.ndarray | None = None) -> None:
        """Keep the latest render (not an undo step): image (H, W, 3) uint8 RGB (the composite when
        ``raw``, the network's output, is given)."""
        self.last_render = LastRender(image, float(seconds), raw)
        self.notify(EventKind.RENDER)

    def set_baseline(self, baseline: np.ndarray | None, instance: np.ndarray | None = None) -> None:
        """Make the document a photo edit against ``baseline`` (H, W) class ids (not an undo step: it is
        what the document was made from). ``instance`` is the baseline's instance map, if any."""
        if baseline is not None:
            baseline = as_label_array(baseline, "baseline label map")
            if baseline.shape != self.label.shape:
                raise SizeMismatchError(
                    f"baseline label map is {_size_text(baseline)} but the label map is {_size_text(self.label)}"
                )
            baseline = np.array(baseline, copy=True)
        if instance is not None:
            instance = as_instance_array(instance, "baseline instance map")
            if instance.shape != self.label.shape:
                raise SizeMismatchError(
                    f"baseline instance map is {_size_text(instance)} but the label map is {_size_text(self.label)}"
                )
            instance = np.array(instance, copy=True)
        self.baseline, self.baseline_instance = baseline, instance if baseline is not None else None
        self.notify(EventKind.LABEL)

    @property
    def is_photo_edit(self) -> bool:
        """The document has a photo and its baseline segmentation: renders are composited onto the photo."""
        return self.photo is not None and self.baseline is not None

    # -- queries ----------------------------------------------------------------------------
    def style_of_region(self, class_id: int) -> StyleMix:
        """The mix that renders region ``class_id``: its own, else the default."""
        return self.region_styles.get(int(class_id), self.default_style)

    def present_class_ids(self) -> list[int]:
        """Class ids that occur in the label map, ascending."""
        return [int(v) for v in np.flatnonzero(np.bincount(self.label.ravel()))]
