"""The transfer engine: each region painted with its style photo's texture and its style mix's colours.

Importing this module reads no weights and imports neither torch nor OpenCV (they load in ``generate``),
so regionpaint lists the engine instantly.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

import regionpaint
from regionpaint import InputError, Option, OptionError, RenderRequest, RenderResult

log = logging.getLogger(__name__)

AUTO_PATCH_SHARE, AUTO_PATCH_MIN = 20, 8  # patch_size 0: 1/20 of the shorter side, at least 8 px
GOLDEN = 0.618033988749895  # hue step for the flat colours used when no style photo is given


class TransferEngine(regionpaint.Engine):
    id = "transfer"
    display_name = "Colour and texture transfer"
    capabilities = frozenset({regionpaint.REGION_STYLES, regionpaint.STYLE_INTERPOLATION, regionpaint.NOISE})
    label_sets = ("celebamask-hq", "cityscapes", "ade20k", "coco-stuff")
    needs_checkpoint = False
    options = (
        Option("texture", "bool", True, "copy each region's texture from its style photo (off: colours only)"),
        Option(
            "patch_size",
            "int",
            0,
            "side of the texture patches in output pixels, 0 = 1/20 of the shorter side (larger: coarser, faster)",
            minimum=0,
            maximum=128,
            flag=True,
        ),
        Option(
            "follow_layout",
            "bool",
            True,
            "take each patch from the same relative place of the source region (keeps shading and structure)",
        ),
        Option("overlap", "float", 0.25, "share of a patch overlapping its neighbours", minimum=0.05, maximum=0.5),
        Option("colour_space", "choice", "lab", "space the colour statistics are matched in", choices=("lab", "rgb")),
        Option("candidates", "int", 16, "patches compared at each step", minimum=1, maximum=256, advanced=True),
        Option("seam_blur", "int", 1, "pixels blended across region boundaries", minimum=0, maximum=16, advanced=True),
    )

    @classmethod
    def recognizes(cls, info: regionpaint.CheckpointInfo) -> bool:
        return False  # nothing to recognise: this engine has no weights

    def load(self, checkpoint: Any = None, device: str = "auto") -> None:
        if checkpoint:
            log.info("transfer: ignoring checkpoint %s (this engine needs none)", checkpoint)
        self._device = "cpu"  # OpenCV on the CPU whatever the device asked for

    def network_size(self, label_shape: tuple[int, int]) -> tuple[int, int]:
        return int(label_shape[1]), int(label_shape[0])

    def generate(self, request: RenderRequest) -> RenderResult:
        start = time.perf_counter()
        options = self._options(request.options)
        label = _checked_label(request)
        _check_style_names(request)
        rng = np.random.default_rng(request.seed) if request.noise else None
        space = options["colour_space"]
        out = np.zeros((*label.shape, 3), dtype=np.float32)
        patch = min(
            int(options["patch_size"]) or max(AUTO_PATCH_MIN, min(label.shape) // AUTO_PATCH_SHARE), *label.shape
        )
        for class_id in np.unique(label):
            mask = label == class_id
            mix = self._mix_for(int(class_id), request)
            if not mix:
                out[mask] = _to_space(_flat_colour(int(class_id)), space)
                continue
            out[mask] = self._paint_region(int(class_id), mask, mix, request, options, patch, rng)
        image = _from_space(out, space)
        image = _blend_seams(image, label, int(options["seam_blur"]))
        tensor = (image.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None].copy()
        info = {"patch_size": patch, "label_set": request.label_set, "deterministic": rng is None}
        return RenderResult(image=image, tensor=tensor, seconds=time.perf_counter() - start, info=info)

    # -- steps ---------------------------------------------------------------------------------
    def _options(self, given: Any) -> dict[str, Any]:
        schema = {option.name: option for option in self.options}
        values = {name: option.default for name, option in schema.items()}
        for name, value in dict(given or {}).items():
            if name not in schema:
                raise InputError(f"unknown option {name!r} (options of {self.id}: {', '.join(schema)})")
            try:
                values[name] = schema[name].parse(value)
            except OptionError as exc:
                raise InputError(str(exc)) from None
        return values

    def _mix_for(self, class_id: int, request: RenderRequest) -> tuple[tuple[str, float], ...]:
        mix = request.region_styles.get(class_id) or request.default_style
        if not mix and request.styles:
            mix = ((next(iter(request.styles)), 1.0),)
        return tuple((name, float(weight)) for name, weight in (mix or ()) if weight > 0)

    def _paint_region(self, class_id, mask, mix, request, options, patch, rng) -> np.ndarray:
        """Pixels (N, 3) for ``mask`` in the colour space: texture of the heaviest source, colours of the mix."""
        from regionpaint_transfer import colour, quilting

        space, height = options["colour_space"], mask.shape[0]
        stats, dominant = [], None
        for name, weight in mix:
            pixels_image, region = _source_region(request.styles[name], class_id, height, space)
            stats.append((weight, *colour.statistics(pixels_image[region], rng)))
            if dominant is None or weight > dominant[0]:
                dominant = (weight, pixels_image, region)
        total = sum(w for w, _, _ in stats)
        target_mean, target_cov = colour.mix_statistics([(w / total, m, c) for w, m, c in stats])
        _, source, region = dominant
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        box = mask[y0:y1, x0:x1]
        positions = quilting.patch_positions(region, patch) if options["texture"] else np.zeros((0, 2), int)
        if len(positions) == 0:  # colours only, or a source region thinner than a patch
            return np.broadcast_to(target_mean.astype(np.float32), (int(mask.sum()), 3))
        overlap = max(1, round(patch * float(options["overlap"])))
        texture = quilting.quilt(
            source, positions, box, patch, overlap, int(options["candidates"]), rng, bool(options["follow_layout"])
        )
        return colour.transfer(texture[box], target_mean, target_cov)


def _checked_label(request: RenderRequest) -> np.ndarray:
    import cv2

    label = request.label
    if not isinstance(label, np.ndarray) or label.ndim != 2 or label.size == 0:
        shape = getattr(label, "shape", None)
        raise InputError(f"the label map must be a non-empty (H, W) array of class ids, got shape {shape}")
    if not np.issubdtype(label.dtype, np.integer):
        raise InputError(f"the label map must hold integer class ids, not {label.dtype}")
    label = label.astype(np.int32)
    if request.size is not None:
        width, height = (int(v) for v in request.size)
        if width <= 0 or height <= 0:
            raise InputError(f"size must be positive (W, H), got {request.size}")
        label = cv2.resize(label, (width, height), interpolation=cv2.INTER_NEAREST)
    return label


def _check_style_names(request: RenderRequest) -> None:
    mixes = [*request.region_styles.values(), request.default_style or ()]
    for mix in mixes:
        for name, _ in mix:
            if name not in request.styles:
                given = ", ".join(request.styles) or "none"
                raise InputError(f"style source {name!r} is not given (sources: {given})")


def _source_region(source, class_id: int, height: int, space: str) -> tuple[np.ndarray, np.ndarray]:
    """The source photo at the output's scale in ``space``, and where ``class_id`` is in it (all of it
    when the photo has no segmentation or lacks the class)."""
    import cv2

    image = np.asarray(source.image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"style source {source.name!r}: the photo must be (H, W, 3) uint8 RGB")
    label = None if source.label is None else np.asarray(source.label)
    if label is not None and label.shape != image.shape[:2]:
        label = cv2.resize(label.astype(np.int32), image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    scale = height / image.shape[0]
    if abs(scale - 1) > 0.05:  # textures keep their size relative to the picture
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        if label is not None:
            label = cv2.resize(label.astype(np.int32), size, interpolation=cv2.INTER_NEAREST)
    region = label == class_id if label is not None else None
    if region is None or not region.any():
        region = np.ones(image.shape[:2], dtype=bool)
    return _to_space(image, space), region


def _to_space(rgb: np.ndarray, space: str) -> np.ndarray:
    import cv2

    values = np.asarray(rgb, dtype=np.float32).reshape(-1, 1, 3) / 255.0
    if space == "lab":
        values = cv2.cvtColor(values, cv2.COLOR_RGB2Lab)
    return values.reshape(np.shape(rgb))


def _from_space(values: np.ndarray, space: str) -> np.ndarray:
    import cv2

    rgb = values
    if space == "lab":
        rgb = cv2.cvtColor(values.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _flat_colour(class_id: int) -> np.ndarray:
    """A distinct, stable colour per class (golden-ratio hues) when there is no style photo."""
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((class_id * GOLDEN) % 1.0, 0.55, 0.85)
    return np.array([r, g, b], dtype=np.float32) * 255.0


def _blend_seams(image: np.ndarray, label: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    if radius <= 0:
        return image
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    lab = label.astype(np.float32)
    edge = cv2.dilate(lab, kernel) != cv2.erode(lab, kernel)
    blurred = cv2.GaussianBlur(image, (2 * radius + 1, 2 * radius + 1), 0)
    out = image.copy()
    out[edge] = blurred[edge]
    return out
