"""History titles that say what changed: "hair: A → B", "Brush car", "Seed 0 → 3".

Pure functions of the values before and after an edit, so every front end (the editor's history
panel, the CLI) names steps the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .document import EngineSettings, StyleMix
from .labelsets import LabelIdError, LabelSet

#: How many region names a title lists before it says "N regions".
MAX_NAMED_REGIONS = 3
DEFAULT_STYLE = "default"  # a region without its own mix follows the all-regions style


def class_name(label_set: LabelSet, class_id: int) -> str:
    try:
        return label_set.name_of(class_id)
    except LabelIdError:
        return f"id {class_id}"


def describe_mix(mix: StyleMix | None) -> str:
    """``A`` for one source; ``70 % A + 30 % B`` for a mix; ``engine style`` for none."""
    if not mix:
        return "engine style"
    if len(mix) == 1:
        return mix[0][0]
    return " + ".join(f"{weight:.0%} {name}" for name, weight in mix)


def describe_regions(label_set: LabelSet, class_ids: Sequence[int] | None) -> str:
    if class_ids is None:
        return "all regions"
    names = [class_name(label_set, class_id) for class_id in class_ids]
    if len(names) > MAX_NAMED_REGIONS:
        return f"{len(names)} regions"
    return ", ".join(names)


def style_title(
    label_set: LabelSet, class_ids: Sequence[int] | None, before: Sequence[StyleMix | None], after: StyleMix | None
) -> str:
    """``hair: A → B``; several regions with different old mixes read ``hair, skin: … → B``."""
    old = {describe_mix(mix) if mix is not None else DEFAULT_STYLE for mix in before}
    old_text = old.pop() if len(old) == 1 else "…"
    new_text = DEFAULT_STYLE if after is None else describe_mix(after)
    return f"{describe_regions(label_set, class_ids)}: {old_text} → {new_text}"


def paint_title(action: str, label_set: LabelSet, label_id: int) -> str:
    """``Brush car``, ``Flood fill sky``."""
    return f"{action} {class_name(label_set, label_id)}"


def _describe_setting(name: str, value: Any) -> str:
    if name == "checkpoint":
        return Path(value).name if value else "none"
    if name == "output_size":
        return "checkpoint's size" if value is None else f"{value[0]}×{value[1]}"
    if name == "engine_id":
        return value or "auto"
    if name == "noise":
        return "on" if value else "off"
    if value is None:  # an engine option never set: the engine's default
        return "default"
    return str(value)


SETTING_NAMES = {
    "engine_id": "Engine",
    "checkpoint": "Checkpoint",
    "device": "Device",
    "seed": "Seed",
    "noise": "Noise",
    "output_size": "Size",
}


def engine_title(before: EngineSettings, after: EngineSettings) -> str:
    """``Seed 0 → 3``; ``Checkpoint spade_streets``; several changes at once: ``Engine settings``."""
    changed = [name for name in SETTING_NAMES if getattr(before, name) != getattr(after, name)]
    options = _changed_options(before.options, after.options)
    if len(changed) + len(options) != 1:
        return "Engine settings"
    if options:
        (key,) = options
        old, new = _describe_setting(key, before.options.get(key)), _describe_setting(key, after.options.get(key))
        return f"{key}: {old} → {new}"
    (name,) = changed
    old, new = _describe_setting(name, getattr(before, name)), _describe_setting(name, getattr(after, name))
    if name == "checkpoint":
        return f"Checkpoint {new}"
    return f"{SETTING_NAMES[name]} {old} → {new}"


def _changed_options(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def style_block_titles(blocks: Sequence[str], declared: Mapping[str, str]) -> dict[str, str]:
    """A person's name for each crossover block: the engine's own (``Engine.style_block_titles``), else one
    from the block's place in the forward order, which runs from coarse to fine in every generator that has
    such blocks (each doubles the resolution or keeps it)."""
    titles = {}
    for index, block in enumerate(blocks):
        if declared.get(block):
            titles[block] = declared[block]
        elif index == 0:
            titles[block] = "Coarse shape"
        elif index == len(blocks) - 1:
            titles[block] = "Fine texture"
        else:
            titles[block] = f"Detail level {index + 1}"
    return titles
