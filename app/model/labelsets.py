"""Label sets: class names and colours of the semantic label maps the engines understand.

A label set maps class ids (the integers stored in an index PNG and fed to the networks) to names and
to the official visualisation colours, and converts between index maps and colour-coded maps.

Id spaces of the built-in sets:

- ``celebamask-hq``: ids 0..18 exactly as stored in CelebAMask-HQ / SEAN label PNGs (0 = background).
- ``cityscapes``: the 34 ``labelIds`` 0..33 of cityscapesScripts, plus id 34 = "license plate" (official
  labelId -1); SPADE/pix2pixHD use ``label_nc=35`` and give it the last slot.
- ``ade20k``: the *network* id space, not the raw ADE20K PNG values. Raw PNGs store 0 = other/unlabeled and
  1..150 = classes; SPADE (``label_nc=150``, ``contain_dontcare_label``) subtracts 1, so raw 0 becomes 255
  (don't care) and raw 1..150 become 0..149. Here ``names[0]`` is "wall" and ``dontcare_id`` is 255, so a
  raw ADE20K PNG must be shifted by the loader (raw - 1, with 0 -> 255) before it is used with this set.
- ``coco-stuff``: ids 0..181 as stored in COCO-Stuff (164k) label PNGs, 255 = unlabeled (don't care).
  ``names[i]`` is entry ``i + 1`` of the official 182-class ``labels.txt`` (whose entry 0 is "unlabeled"),
  including the 11 thing slots that COCO never annotates ("street sign", "hat", ...).

Colour sources:

- CelebAMask-HQ: SEAN ``ui/util.py`` (``color_pred``); it reproduces SEAN's colour visualisations exactly.
- Cityscapes: cityscapesScripts ``helpers/labels.py``; license plate (0, 0, 142) as in SPADE's 35-entry table.
- ADE20K: the official 150-colour palette (CSAILVision ``color150``).
- COCO-Stuff: the official cocostuffapi colormap paints every thing class black, so it cannot tell classes
  apart. We use SPADE's ``util.labelcolormap(182)`` instead: the PASCAL-VOC bit-interleaving palette of
  ``i + 1`` with SPADE's five fixed colours for sea, sky-other, tree, clouds and grass (the palette SPADE
  defines for COCO; its training visualiser calls it with N=184, which gives the same colours without the
  five overrides).

Several official palettes reuse a colour (Cityscapes ids 0..4 are all black, polegroup = pole,
license plate = car; ADE20K road = skyscraper). Such a colour converts back to the lowest id that has it,
the rule cityscapesScripts uses for its inverse mappings, so colour maps of these sets lose that distinction.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

RGB = tuple[int, int, int]

DONTCARE_NAME = "don't care"
_MAX_LISTED = 10  # unknown colours / bad ids named in an error message


class UnknownColorsError(ValueError):
    """A colour-coded map holds colours that no class of the label set has.

    ``colors`` lists ``((r, g, b), pixel_count)`` for every unknown colour, most frequent first.
    """

    def __init__(self, message: str, colors: list[tuple[RGB, int]] | None = None) -> None:
        super().__init__(message)
        self.colors = colors or []


class LabelIdError(ValueError):
    """An index map holds ids outside the label set; ``ids`` lists them, sorted."""

    def __init__(self, message: str, ids: list[int] | None = None) -> None:
        super().__init__(message)
        self.ids = ids or []


def _normalize_name(name: str) -> str:
    """Case-, space-, '_'- and '-'-insensitive form of a class name ("Eye_G" == "eye g")."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (...) uint32 keys 0xRRGGBB, so a colour compares as one number."""
    rgb = rgb.astype(np.uint32, copy=False)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack_rgb(key: int) -> RGB:
    return ((key >> 16) & 255, (key >> 8) & 255, key & 255)


def _id_counts(index_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of an integer array and how often each occurs, sorted by value.

    bincount is O(n) and much faster than np.unique's sort for the usual small non-negative ids.
    """
    flat = np.asarray(index_map).ravel()
    if flat.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not np.issubdtype(flat.dtype, np.integer):
        raise TypeError(f"index map must hold integers, got dtype {flat.dtype}")
    lo, hi = int(flat.min()), int(flat.max())
    if lo >= 0 and hi < (1 << 20):
        # intp: bincount refuses uint64 input even when the values are small.
        counts = np.bincount(flat.astype(np.intp, copy=False), minlength=hi + 1)
        ids = np.flatnonzero(counts)
        return ids, counts[ids]
    ids, counts = np.unique(flat, return_counts=True)
    return ids.astype(np.int64), counts


def _as_rgb_array(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"colour map must have shape (H, W, 3), got {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"colour map must be uint8, got dtype {rgb.dtype}")
    return rgb


def _describe_unknown(keys: np.ndarray, counts: np.ndarray) -> list[tuple[RGB, int]]:
    order = np.argsort(-counts, kind="stable")
    return [(_unpack_rgb(int(keys[i])), int(counts[i])) for i in order]


@dataclass(frozen=True)
class LabelSet:
    """Names and colours of the classes of one dataset.

    ``names[i]`` / ``colors[i]`` belong to class id ``i``; ``dontcare_id`` (if any) is an extra id allowed
    in index maps that the networks treat as "no class" (drawn in ``dontcare_color``).
    """

    id: str
    display_name: str
    names: tuple[str, ...]
    colors: tuple[RGB, ...]
    dontcare_id: int | None = None
    dontcare_color: RGB = (0, 0, 0)

    def __post_init__(self) -> None:
        # Coerce lists (e.g. from JSON or a plugin) to tuples so the frozen set stays hashable.
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "colors", tuple(tuple(int(v) for v in c) for c in self.colors))
        object.__setattr__(self, "dontcare_color", tuple(int(v) for v in self.dontcare_color))
        self._validate()

    def _validate(self) -> None:
        if len(self.names) != len(self.colors):
            raise ValueError(f"{self.id}: {len(self.names)} names but {len(self.colors)} colours")
        for color in (*self.colors, self.dontcare_color):
            if len(color) != 3 or not all(0 <= v <= 255 for v in color):
                raise ValueError(f"{self.id}: colour {color} is not an 8-bit RGB triple")
        if self.dontcare_id is not None and not len(self.names) <= self.dontcare_id < 65536:
            # Below num_classes it would collide with a class; the 16-bit bound keeps ids PNG-storable.
            raise ValueError(f"{self.id}: don't-care id {self.dontcare_id} must lie in {len(self.names)}..65535")
        normalized = [_normalize_name(n) for n in self.names]
        duplicates = sorted({n for n in normalized if normalized.count(n) > 1})
        if duplicates:
            raise ValueError(f"{self.id}: class names are not unique: {duplicates}")

    # ---------------------------------------------------------------- ids and names

    @property
    def num_classes(self) -> int:
        """Number of real classes (the one-hot width without the don't-care channel)."""
        return len(self.names)

    def valid_ids(self) -> np.ndarray:
        """Sorted int64 array of the ids allowed in index maps: 0..n-1, plus the don't-care id."""
        ids = list(range(self.num_classes))
        if self.dontcare_id is not None:
            ids.append(self.dontcare_id)
        return np.array(sorted(ids), dtype=np.int64)

    def name_of(self, class_id: int) -> str:
        """Name of ``class_id``; "don't care" for the don't-care id. LabelIdError for other ids."""
        class_id = int(class_id)
        if class_id == self.dontcare_id:
            return DONTCARE_NAME
        if 0 <= class_id < self.num_classes:
            return self.names[class_id]
        raise LabelIdError(f"{self.display_name} has no class id {class_id}", [class_id])

    def id_of(self, name_or_id: str | int) -> int:
        """Class id for a name ("hair", "Hair", "traffic_light") or a number (13, "13").

        Raises KeyError naming the closest class names when nothing matches.
        """
        if isinstance(name_or_id, (int, np.integer)) and not isinstance(name_or_id, bool):
            return self._checked_id(int(name_or_id), str(name_or_id))
        text = str(name_or_id).strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return self._checked_id(int(text), text)
        class_id = self._name_index.get(_normalize_name(text))
        if class_id is None:
            raise KeyError(self._unknown_name_message(text))
        return class_id

    def _checked_id(self, class_id: int, text: str) -> int:
        if class_id == self.dontcare_id or 0 <= class_id < self.num_classes:
            return class_id
        raise KeyError(f"{text!r} is not a class id of {self.display_name} ({self._id_range_text()})")

    def _id_range_text(self) -> str:
        extra = f" or {self.dontcare_id} = {DONTCARE_NAME}" if self.dontcare_id is not None else ""
        return f"ids 0..{self.num_classes - 1}{extra}"

    def _unknown_name_message(self, text: str) -> str:
        wanted = _normalize_name(text)
        close = difflib.get_close_matches(wanted, list(self._name_index), n=5, cutoff=0.6)
        # Substring hits catch "glass" -> "eye glasses", which difflib's ratio misses.
        close += [n for n in self._name_index if wanted and wanted in n and n not in close]
        hint = f"; did you mean: {', '.join(close[:8])}?" if close else f"; {self._id_range_text()}"
        return f"{text!r} is not a class of {self.display_name}{hint}"

    @cached_property
    def _name_index(self) -> dict[str, int]:
        index = {_normalize_name(n): i for i, n in enumerate(self.names)}
        if self.dontcare_id is not None:
            for alias in (DONTCARE_NAME, "dontcare", "dont care", "unlabeled", "ignore"):
                index.setdefault(_normalize_name(alias), self.dontcare_id)
        return index

    # ---------------------------------------------------------------- lookup tables

    @cached_property
    def _lut_size(self) -> int:
        return int(self.valid_ids()[-1]) + 1

    @cached_property
    def _valid_lut(self) -> np.ndarray:
        """(lut_size,) bool: True where the id is allowed."""
        lut = np.zeros(self._lut_size, dtype=bool)
        lut[self.valid_ids()] = True
        lut.flags.writeable = False
        return lut

    @cached_property
    def _color_lut(self) -> np.ndarray:
        """(lut_size, 3) uint8 colour of every id; unused slots stay black but are never looked up."""
        lut = np.zeros((self._lut_size, 3), dtype=np.uint8)
        lut[: self.num_classes] = np.array(self.colors, dtype=np.uint8).reshape(-1, 3)
        if self.dontcare_id is not None:
            lut[self.dontcare_id] = self.dontcare_color
        lut.flags.writeable = False
        return lut

    @cached_property
    def _color_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted unique colour keys, id of each): the inverse palette used by from_color.

        A colour shared by several ids maps to the lowest of them (see module docstring).
        """
        ids = self.valid_ids()
        keys = _pack_rgb(self._color_lut[ids])
        # np.unique returns the first occurrence of each key; ids are ascending, so that is the lowest id.
        unique_keys, first = np.unique(keys, return_index=True)
        return unique_keys, ids[first]

    def _ids_dtype(self) -> type[np.unsignedinteger]:
        return np.uint8 if self._lut_size <= 256 else np.uint16

    # ---------------------------------------------------------------- conversions

    def check_ids(self, index_map: np.ndarray, source: str = "") -> None:
        """Raise LabelIdError, naming ``source`` and the offending ids, if ``index_map`` (any shape,
        integer dtype) holds an id that is not in ``valid_ids()``."""
        ids, counts = _id_counts(index_map)
        inside = (ids >= 0) & (ids < self._lut_size)
        bad = ~inside
        bad[inside] = ~self._valid_lut[ids[inside]]
        if not bad.any():
            return
        bad_ids = [int(i) for i in ids[bad]]
        shown = zip(bad_ids[:_MAX_LISTED], counts[bad][:_MAX_LISTED], strict=True)
        listed = ", ".join(f"{i} ({int(c)} px)" for i, c in shown)
        more = f" and {len(bad_ids) - _MAX_LISTED} more" if len(bad_ids) > _MAX_LISTED else ""
        where = f"{source}: " if source else ""
        raise LabelIdError(
            f"{where}{len(bad_ids)} id(s) outside label set {self.display_name} "
            f"({self._id_range_text()}): {listed}{more}",
            bad_ids,
        )

    def to_color(self, index_map: np.ndarray) -> np.ndarray:
        """(H, W) integer class ids -> (H, W, 3) uint8 official colours.

        The don't-care id gets ``dontcare_color`` (black). Invalid ids raise LabelIdError.
        """
        index_map = np.asarray(index_map)
        self.check_ids(index_map)
        # np.take along axis 0 is ~3x faster than fancy indexing lut[index_map] for (H, W) maps.
        return np.take(self._color_lut, index_map, axis=0)

    def from_color(self, rgb: np.ndarray, source: str = "") -> np.ndarray:
        """(H, W, 3) uint8 colour-coded map -> (H, W) class ids (uint8, or uint16 for sets with ids > 255).

        Raises UnknownColorsError listing colours that no id of this set has (most frequent first).
        """
        keys = _pack_rgb(_as_rgb_array(rgb))
        table_keys, table_ids = self._color_table
        pos = np.searchsorted(table_keys, keys)
        np.minimum(pos, len(table_keys) - 1, out=pos)  # keys beyond the last colour: mark as unknown below
        known = table_keys[pos] == keys
        if not known.all():
            raise self._unknown_colors_error(keys[~known], source)
        return np.take(table_ids.astype(self._ids_dtype()), pos)

    def _unknown_colors_error(self, unknown_keys: np.ndarray, source: str) -> UnknownColorsError:
        keys, counts = np.unique(unknown_keys, return_counts=True)
        colors = _describe_unknown(keys, counts)
        listed = ", ".join(f"{c} ({n} px)" for c, n in colors[:_MAX_LISTED])
        more = f" and {len(colors) - _MAX_LISTED} more" if len(colors) > _MAX_LISTED else ""
        where = f"{source}: " if source else ""
        return UnknownColorsError(
            f"{where}{len(colors)} colour(s) in {int(counts.sum())} pixels are not in label set "
            f"{self.display_name}: {listed}{more}",
            colors,
        )

    def present_ids(self, index_map: np.ndarray) -> list[tuple[int, float]]:
        """[(id, share of pixels in [0, 1])] for every id present in ``index_map``, sorted by id.

        Ids are not validated, so a caller can show bad ids too; use check_ids for that.
        """
        ids, counts = _id_counts(index_map)
        total = int(counts.sum())
        return [(int(i), int(c) / total) for i, c in zip(ids, counts, strict=True)]

    # ---------------------------------------------------------------- helpers for guessing

    def _accepts_ids(self, ids: np.ndarray) -> bool:
        inside = (ids >= 0) & (ids < self._lut_size)
        return bool(inside.all() and self._valid_lut[ids].all())

    def _accepts_color_keys(self, keys: np.ndarray) -> bool:
        table_keys = self._color_table[0]
        return bool(np.isin(keys, table_keys).all())


# -------------------------------------------------------------------- built-in data tables

_CELEBAMASK_HQ = (
    # (name, colour) by id, from SEAN ui/util.py (number_object / color_pred).
    ("background", (0, 0, 0)),
    ("skin", (204, 0, 0)),
    ("nose", (76, 153, 0)),
    ("eye_g", (204, 204, 0)),
    ("l_eye", (51, 51, 255)),
    ("r_eye", (204, 0, 204)),
    ("l_brow", (0, 255, 255)),
    ("r_brow", (51, 255, 255)),
    ("l_ear", (102, 51, 0)),
    ("r_ear", (255, 0, 0)),
    ("mouth", (102, 204, 0)),
    ("u_lip", (255, 255, 0)),
    ("l_lip", (0, 0, 153)),
    ("hair", (0, 0, 204)),
    ("hat", (255, 51, 153)),
    ("ear_r", (0, 204, 204)),
    ("neck_l", (0, 51, 0)),
    ("neck", (255, 153, 51)),
    ("cloth", (0, 204, 0)),
)

_CITYSCAPES = (
    # (name, colour) by labelId, from cityscapesScripts helpers/labels.py; 34 = license plate (labelId -1).
    ("unlabeled", (0, 0, 0)),
    ("ego vehicle", (0, 0, 0)),
    ("rectification border", (0, 0, 0)),
    ("out of roi", (0, 0, 0)),
    ("static", (0, 0, 0)),
    ("dynamic", (111, 74, 0)),
    ("ground", (81, 0, 81)),
    ("road", (128, 64, 128)),
    ("sidewalk", (244, 35, 232)),
    ("parking", (250, 170, 160)),
    ("rail track", (230, 150, 140)),
    ("building", (70, 70, 70)),
    ("wall", (102, 102, 156)),
    ("fence", (190, 153, 153)),
    ("guard rail", (180, 165, 180)),
    ("bridge", (150, 100, 100)),
    ("tunnel", (150, 120, 90)),
    ("pole", (153, 153, 153)),
    ("polegroup", (153, 153, 153)),
    ("traffic light", (250, 170, 30)),
    ("traffic sign", (220, 220, 0)),
    ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)),
    ("sky", (70, 130, 180)),
    ("person", (220, 20, 60)),
    ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)),
    ("truck", (0, 0, 70)),
    ("bus", (0, 60, 100)),
    ("caravan", (0, 0, 90)),
    ("trailer", (0, 0, 110)),
    ("train", (0, 80, 100)),
    ("motorcycle", (0, 0, 230)),
    ("bicycle", (119, 11, 32)),
    ("license plate", (0, 0, 142)),
)

# ADE20K SceneParsing 150 classes in network id order (raw PNG value - 1); short names as in
# object150_info.csv (first synonym; "car" for "auto;automobile;..." as most tools print it).
_ADE20K_NAMES = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass",
    "cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
    "car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
    "armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
    "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper",
    "fireplace", "refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow",
    "screen door", "stairway", "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower",
    "book", "hill", "bench", "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair",
    "boat", "bar", "arcade machine", "hovel", "bus", "towel", "light", "truck", "tower", "chandelier",
    "awning", "streetlight", "booth", "television receiver", "airplane", "dirt track", "apparel", "pole",
    "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster", "stage", "van", "ship",
    "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool", "barrel",
    "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank",
    "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket",
    "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen",
    "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)  # fmt: skip

# The official ADE20K palette (CSAILVision color150), colour of network id i.
_ADE20K_COLORS = (
    (120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50), (4, 200, 3), (120, 120, 80),
    (140, 140, 140), (204, 5, 255), (230, 230, 230), (4, 250, 7), (224, 5, 255), (235, 255, 7),
    (150, 5, 61), (120, 120, 70), (8, 255, 51), (255, 6, 82), (143, 255, 140), (204, 255, 4),
    (255, 51, 7), (204, 70, 3), (0, 102, 200), (61, 230, 250), (255, 6, 51), (11, 102, 255),
    (255, 7, 71), (255, 9, 224), (9, 7, 230), (220, 220, 220), (255, 9, 92), (112, 9, 255),
    (8, 255, 214), (7, 255, 224), (255, 184, 6), (10, 255, 71), (255, 41, 10), (7, 255, 255),
    (224, 255, 8), (102, 8, 255), (255, 61, 6), (255, 194, 7), (255, 122, 8), (0, 255, 20),
    (255, 8, 41), (255, 5, 153), (6, 51, 255), (235, 12, 255), (160, 150, 20), (0, 163, 255),
    (140, 140, 140), (250, 10, 15), (20, 255, 0), (31, 255, 0), (255, 31, 0), (255, 224, 0),
    (153, 255, 0), (0, 0, 255), (255, 71, 0), (0, 235, 255), (0, 173, 255), (31, 0, 255),
    (11, 200, 200), (255, 82, 0), (0, 255, 245), (0, 61, 255), (0, 255, 112), (0, 255, 133),
    (255, 0, 0), (255, 163, 0), (255, 102, 0), (194, 255, 0), (0, 143, 255), (51, 255, 0),
    (0, 82, 255), (0, 255, 41), (0, 255, 173), (10, 0, 255), (173, 255, 0), (0, 255, 153),
    (255, 92, 0), (255, 0, 255), (255, 0, 245), (255, 0, 102), (255, 173, 0), (255, 0, 20),
    (255, 184, 184), (0, 31, 255), (0, 255, 61), (0, 71, 255), (255, 0, 204), (0, 255, 194),
    (0, 255, 82), (0, 10, 255), (0, 112, 255), (51, 0, 255), (0, 194, 255), (0, 122, 255),
    (0, 255, 163), (255, 153, 0), (0, 255, 10), (255, 112, 0), (143, 255, 0), (82, 0, 255),
    (163, 255, 0), (255, 235, 0), (8, 184, 170), (133, 0, 255), (0, 255, 92), (184, 0, 255),
    (255, 0, 31), (0, 184, 255), (0, 214, 255), (255, 0, 112), (92, 255, 0), (0, 224, 255),
    (112, 224, 255), (70, 184, 160), (163, 0, 255), (153, 0, 255), (71, 255, 0), (255, 0, 163),
    (255, 204, 0), (255, 0, 143), (0, 255, 235), (133, 255, 0), (255, 0, 235), (245, 0, 255),
    (255, 0, 122), (255, 245, 0), (10, 190, 212), (214, 255, 0), (0, 204, 255), (20, 0, 255),
    (255, 255, 0), (0, 153, 255), (0, 41, 255), (0, 255, 204), (41, 0, 255), (41, 255, 0),
    (173, 0, 255), (0, 245, 255), (71, 0, 255), (122, 0, 255), (0, 255, 184), (0, 92, 255),
    (184, 255, 0), (0, 133, 255), (255, 214, 0), (25, 194, 194), (102, 255, 0), (92, 0, 255),
)  # fmt: skip

# COCO-Stuff ids 0..181 = entries 1..182 of the official labels.txt (nightrome/cocostuff). The thing slots
# COCO never annotates keep their official placeholder names (street sign, hat, shoe, eye glasses, ...).
_COCO_STUFF_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "street sign", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "hat", "backpack", "umbrella",
    "shoe", "eye glasses", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "plate", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "mirror", "dining table", "window", "desk", "toilet", "door", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "blender",
    "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush", "hair brush",
    "banner", "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage", "cardboard",
    "carpet", "ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard",
    "curtain", "desk-stuff", "dirt", "door-stuff", "fence", "floor-marble", "floor-other", "floor-stone",
    "floor-tile", "floor-wood", "flower", "fog", "food-other", "fruit", "furniture-other", "grass",
    "gravel", "ground-other", "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss",
    "mountain", "mud", "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic",
    "platform", "playingfield", "railing", "railroad", "river", "road", "rock", "roof", "rug", "salad",
    "sand", "sea", "shelf", "sky-other", "skyscraper", "snow", "solid-other", "stairs", "stone", "straw",
    "structural-other", "table", "tent", "textile-other", "towel", "tree", "vegetable", "wall-brick",
    "wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile", "wall-wood", "water-other",
    "waterdrops", "window-blind", "window-other", "wood",
)  # fmt: skip

# SPADE's hand-picked COCO colours (util.labelcolormap, N == 182), by class name.
_COCO_STUFF_FIXED_COLORS = {
    "sea": (54, 62, 167),
    "sky-other": (95, 219, 255),
    "tree": (140, 104, 47),
    "clouds": (170, 170, 170),
    "grass": (29, 195, 49),
}


def _bit_interleaved_color(value: int) -> RGB:
    """PASCAL-VOC style colour of ``value``: its bits 0, 1, 2 become the top bits of R, G, B, bits 3, 4, 5
    the next ones, and so on, which keeps small consecutive values far apart in colour."""
    r = g = b = 0
    for shift in range(7, 0, -1):
        r |= (value & 1) << shift
        g |= ((value >> 1) & 1) << shift
        b |= ((value >> 2) & 1) << shift
        value >>= 3
    return (r, g, b)


def _coco_stuff_colors() -> tuple[RGB, ...]:
    # SPADE colours class i by i + 1 so that class 0 is not black (black is left to "don't care").
    return tuple(
        _COCO_STUFF_FIXED_COLORS.get(name, _bit_interleaved_color(i + 1)) for i, name in enumerate(_COCO_STUFF_NAMES)
    )


CELEBAMASK_HQ = LabelSet(
    id="celebamask-hq",
    display_name="CelebAMask-HQ (19 face parts)",
    names=tuple(name for name, _ in _CELEBAMASK_HQ),
    colors=tuple(color for _, color in _CELEBAMASK_HQ),
)
CITYSCAPES = LabelSet(
    id="cityscapes",
    display_name="Cityscapes (35 label ids)",
    names=tuple(name for name, _ in _CITYSCAPES),
    colors=tuple(color for _, color in _CITYSCAPES),
)
ADE20K = LabelSet(
    id="ade20k",
    display_name="ADE20K (150 classes)",
    names=_ADE20K_NAMES,
    colors=_ADE20K_COLORS,
    dontcare_id=255,
)
COCO_STUFF = LabelSet(
    id="coco-stuff",
    display_name="COCO-Stuff (182 classes)",
    names=_COCO_STUFF_NAMES,
    colors=_coco_stuff_colors(),
    dontcare_id=255,
)

BUILTIN_LABEL_SETS: tuple[LabelSet, ...] = (CELEBAMASK_HQ, CITYSCAPES, ADE20K, COCO_STUFF)

# Tie-break for index maps that contain the don't-care id and fit several sets: COCO-Stuff PNGs store 255
# on disk, while raw ADE20K PNGs store unlabeled as 0 (255 only appears after SPADE's shift), so a file
# holding 255 is far more often COCO-Stuff.
_DONTCARE_FILE_PREFERENCE = ("coco-stuff",)


# -------------------------------------------------------------------- guessing


def guess_label_set(
    index_map: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
    candidates: tuple[LabelSet, ...] | list[LabelSet] = BUILTIN_LABEL_SETS,
) -> LabelSet | None:
    """Best guess of the label set of an index map ((H, W) ints) and/or a colour map ((H, W, 3) uint8).

    A candidate must accept every id of ``index_map`` and know every colour of ``rgb``. Among those that do,
    the one with the fewest classes wins (the tightest fit), except that an index map holding a don't-care
    id prefers COCO-Stuff (see ``_DONTCARE_FILE_PREFERENCE``). Returns None when no candidate fits.
    """
    if index_map is None and rgb is None:
        raise ValueError("guess_label_set needs an index map or a colour map")
    fitting = list(candidates)
    has_dontcare = False
    if index_map is not None:
        ids, _ = _id_counts(index_map)
        fitting = [s for s in fitting if s._accepts_ids(ids)]
        has_dontcare = any(s.dontcare_id is not None and s.dontcare_id in ids for s in fitting)
    if rgb is not None:
        keys = np.unique(_pack_rgb(_as_rgb_array(rgb)))
        fitting = [s for s in fitting if s._accepts_color_keys(keys)]
    if not fitting:
        return None

    def rank(label_set: LabelSet) -> tuple[bool, int]:
        preferred = has_dontcare and label_set.id in _DONTCARE_FILE_PREFERENCE
        return (not preferred, label_set.num_classes)

    return min(fitting, key=rank)
