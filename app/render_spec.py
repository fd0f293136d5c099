"""Parsing the render specification mini-languages shared by the CLI and project files.

* style sources: ``NAME=IMAGE[:LABEL]``
* region styles: ``CLASS=SPEC`` with CLASS an id, a name or ``all`` and SPEC ``NAME`` or
  ``NAME:W,NAME:W`` (weights sum to 1); later and more specific entries win.
* crossover: ``BLOCK=NAME[,BLOCK=NAME...]`` with BLOCK a residual block name or its index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from regionpaint.app.model.document import StyleMix, StyleMixError, check_style_mix

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class SpecError(ValueError):
    """A malformed specification; the message quotes the offending text."""


def parse_style_arg(text: str) -> tuple[str, str, str | None]:
    """``NAME=IMAGE[:LABEL]`` -> (name, image path, label path or None)."""
    name, sep, paths = text.partition("=")
    if not sep or not name.strip() or not paths:
        raise SpecError(f"--style {text!r}: expected NAME=IMAGE[:LABEL]")
    image, label = paths, None
    head, colon, tail = paths.rpartition(":")
    # Only split on a colon that separates two image paths (keeps 'C:\\x.png' and odd names intact).
    if colon and head.lower().endswith(_IMAGE_SUFFIXES) and tail.lower().endswith(_IMAGE_SUFFIXES):
        image, label = head, tail
    return name.strip(), image, label


def parse_mix(spec: str, sources: Sequence[str], context: str) -> StyleMix:
    """``A`` or ``A:0.3,B:0.7`` -> (("A", 0.3), ("B", 0.7)); names must be known, weights sum to 1.

    Names starting with ``@`` (``@mean``, ``@random``) are engine-provided sources and always allowed.
    """
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    mix: list[tuple[str, float]] = []
    for part in parts:
        name, colon, weight_text = part.partition(":")
        if colon:
            try:
                weight = float(weight_text)
            except ValueError:
                raise SpecError(f"{context}: weight {weight_text!r} is not a number") from None
        elif len(parts) == 1:
            weight = 1.0
        else:
            raise SpecError(f"{context}: give a weight for every source in a mix (NAME:W,NAME:W)")
        mix.append((name.strip(), weight))
    known = {*sources, *(name for name, _ in mix if name.startswith("@"))}
    try:
        return check_style_mix(mix, known, where=context)
    except StyleMixError as exc:
        raise SpecError(f"{exc} (sources given: {', '.join(sources) or 'none'})") from None


def resolve_class(text: str, label_set: Any | None) -> int:
    """A class id from its number or its name in ``label_set``."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if label_set is None:
        raise SpecError(f"class {text!r}: class names need a label set (pass --label-set)")
    try:
        return int(label_set.id_of(text))
    except (KeyError, ValueError) as exc:
        raise SpecError(f"class {text!r}: {exc.args[0] if exc.args else 'unknown'}") from None


def parse_region_styles(
    entries: Iterable[str], label_set: Any | None, sources: Sequence[str]
) -> tuple[StyleMix | None, dict[int, StyleMix]]:
    """``CLASS=SPEC`` entries -> (mix for 'all' or None, {class id: mix})."""
    default: StyleMix | None = None
    per_class: dict[int, StyleMix] = {}
    for entry in entries:
        target, sep, spec = entry.partition("=")
        context = f"--region-style {entry!r}"
        if not sep:
            raise SpecError(f"{context}: expected CLASS=SPEC")
        mix = parse_mix(spec, sources, context)
        if target.strip().lower() == "all":
            default = mix
        else:
            per_class[resolve_class(target, label_set)] = mix
    return default, per_class


def parse_crossover(entries: Iterable[str], blocks: Sequence[str], sources: Sequence[str]) -> dict[str, str]:
    """``BLOCK=NAME`` items (comma-separated, repeatable) -> {block name: source name}."""
    crossover: dict[str, str] = {}
    for entry in entries:
        for item in (p.strip() for p in entry.split(",") if p.strip()):
            block, sep, source = item.partition("=")
            context = f"--crossover {item!r}"
            if not sep:
                raise SpecError(f"{context}: expected BLOCK=NAME")
            block = block.strip()
            if block.isdigit():
                index = int(block)
                if index >= len(blocks):
                    raise SpecError(f"{context}: block index {index} out of range (0..{len(blocks) - 1})")
                block = blocks[index]
            elif block not in blocks:
                raise SpecError(f"{context}: unknown block {block!r} (blocks: {', '.join(blocks) or 'none'})")
            if source.strip() not in sources:
                raise SpecError(f"{context}: unknown style source {source.strip()!r}")
            crossover[block] = source.strip()
    return crossover


def parse_size(text: str) -> tuple[int, int]:
    """``'256x128'`` -> (256, 128) as (W, H)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) <= 0 or int(height) <= 0:
        raise SpecError(f"--size {text!r}: expected WxH, e.g. 512x256")
    return int(width), int(height)


def _pairs(entries: Iterable[str], flag: str) -> Iterable[tuple[str, int]]:
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep or not value.strip().isdigit():
            raise SpecError(f"{flag} {entry!r}: expected KEY=K with K a cluster index")
        yield key.strip(), int(value)


def parse_instance_clusters(entries: Iterable[str]) -> dict[int, int]:
    out = {}
    for key, value in _pairs(entries, "--instance-cluster"):
        if not key.isdigit():
            raise SpecError(f"--instance-cluster {key!r}: instance ids are numbers")
        out[int(key)] = value
    return out


def parse_class_clusters(entries: Iterable[str], label_set: Any | None) -> dict[int, int]:
    return {resolve_class(key, label_set): value for key, value in _pairs(entries, "--class-cluster")}


def label_set_for_classes(label_nc: int, label_sets: Iterable[Any]) -> Any | None:
    """The label set with exactly ``label_nc`` classes, if exactly one matches."""
    matches = [ls for ls in label_sets if ls.num_classes == label_nc]
    return matches[0] if len(matches) == 1 else None
