"""Converting label maps between label sets (Cityscapes -> ADE20K, COCO-Stuff -> ADE20K), torch-free.

The tables are data: ``app/model/mapping_<source>_to_<target>.json`` maps every class *name* of the source
set to a class name of the target set, or to ``null`` when no target class means the same thing (those
pixels become the target's don't-care id, drawn black, and are reported). ``notes`` explain the
approximations. ADE20K colour images are what ControlNet-style segmentation conditioning expects (the
150-colour ADE20K palette).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regionpaint import untrusted
from regionpaint.app.model.labelsets import LabelSet

MAPPINGS_DIR = Path(__file__).resolve().parent


class LabelMappingError(ValueError):
    """No table for the pair, or a table that does not fit its label sets (names the file)."""


def available_mappings() -> list[tuple[str, str]]:
    """(source id, target id) pairs that have a mapping table."""
    pairs = []
    for path in sorted(MAPPINGS_DIR.glob("mapping_*_to_*.json")):
        source, _, target = path.stem[len("mapping_") :].partition("_to_")
        pairs.append((source, target))
    return pairs


@dataclass(frozen=True)
class LabelMapping:
    """A class table between two label sets; ``lut[source id]`` is the target id (the don't-care id if none)."""

    source: LabelSet
    target: LabelSet
    lut: np.ndarray  # (source lut size,) target ids
    unmapped_ids: frozenset[int]  # source ids without a target class
    notes: dict[str, str]

    @property
    def fill_id(self) -> int:
        return int(self.target.dontcare_id if self.target.dontcare_id is not None else 0)

    def convert(self, index_map: np.ndarray, source: str = "") -> tuple[np.ndarray, dict[int, int]]:
        """(H, W) source ids -> ((H, W) target ids, {unmapped source id: pixel count}).

        Ids outside the source set raise :class:`regionpaint.app.model.labelsets.LabelIdError` naming ``source``.
        """
        index_map = np.asarray(index_map)
        self.source.check_ids(index_map, source)
        converted = np.take(self.lut, index_map.astype(np.int64))
        ids, counts = np.unique(index_map, return_counts=True)
        unmapped = {int(i): int(c) for i, c in zip(ids, counts, strict=True) if int(i) in self.unmapped_ids}
        return converted.astype(np.uint16 if converted.max(initial=0) > 255 else np.uint8), unmapped


def load_mapping(source: LabelSet, target: LabelSet) -> LabelMapping:
    """The table from ``source`` to ``target`` (``mapping_<source>_to_<target>.json``)."""
    path = MAPPINGS_DIR / f"mapping_{source.id}_to_{target.id}.json"
    if not path.is_file():
        pairs = ", ".join(f"{s} -> {t}" for s, t in available_mappings()) or "none"
        raise LabelMappingError(f"no label mapping from {source.id} to {target.id} (available: {pairs})")
    try:
        data = untrusted.read_json(path, str(path))
        classes = dict(data["classes"])
    except untrusted.UntrustedFileError as exc:
        raise LabelMappingError(str(exc)) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabelMappingError(f"{path}: not a label mapping table ({exc})") from None
    missing = [name for name in source.names if name not in classes]
    if missing:
        raise LabelMappingError(f"{path}: source class {missing[0]!r} has no entry (use null for no counterpart)")
    fill = int(target.dontcare_id if target.dontcare_id is not None else 0)
    size = max(len(source.names), (source.dontcare_id or 0) + 1)
    lut = np.full(size, fill, dtype=np.int64)
    unmapped = set()
    for class_id, name in enumerate(source.names):
        wanted = classes[name]
        if wanted is None:
            unmapped.add(class_id)
            continue
        try:
            lut[class_id] = target.id_of(str(wanted))
        except (KeyError, ValueError) as exc:
            raise LabelMappingError(f"{path}: {name!r} -> {wanted!r}: {exc.args[0] if exc.args else exc}") from None
    return LabelMapping(source, target, lut, frozenset(unmapped), dict(data.get("notes") or {}))
