"""Inferring a :class:`SpadeConfig` from tensor shapes, with ``opt.txt`` as a hint (torch-free).

Which source wins:

* Tensors decide the architecture: ``ngf`` (``head_0`` width / 16), ``semantic_nc`` (SPADE ``mlp_shared``
  in-channels), ``use_vae`` and ``z_dim`` (``fc`` is a 2-D Linear), ``most`` (``up_4`` present), spectral
  norm (``weight_orig`` keys), the param-free norm (``running_mean`` keys -> batch statistics, none ->
  instance) and the SPADE kernel size.
* ``opt.txt`` (or a sidecar) splits ``semantic_nc`` into ``label_nc`` / don't-care / instance channel when
  its ``label_nc + contain_dontcare_label + (not no_instance)`` equals the tensors' ``semantic_nc``; it
  decides ``more`` vs ``normal`` (their keys are identical) and gives ``crop_size``, ``aspect_ratio`` and
  ``preprocess_mode``. When it is missing or disagrees, the known label sets are used: 35/36 Cityscapes
  (label_nc 35, +instance), 151/152 ADE20K (150 + don't-care, +instance), 183/184 COCO-Stuff (182 +
  don't-care, +instance), 19 CelebAMask-HQ; any other width is taken as ``label_nc`` with no don't-care and
  no instance channel. For a VAE the ``fc`` Linear size (``16*ngf*sh*sw``) must match the latent grid, which
  also settles ``more`` vs ``normal`` when opt.txt is absent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.options import opt_bool, opt_float, opt_int, opt_str
from regionpaint.engines.spade.config import NUM_UP_LAYERS, EncoderConfig, SpadeConfig

log = logging.getLogger(__name__)

Shapes = Mapping[str, tuple[int, ...]]

# Keys every SPADE generator has; their shapes carry the architecture.
SEMANTIC_KEY = "head_0.norm_0.mlp_shared.0.weight"
WIDTH_KEY = "head_0.norm_0.mlp_gamma.weight"
REQUIRED_KEYS = ("fc.weight", SEMANTIC_KEY, WIDTH_KEY, "conv_img.weight")


@dataclass(frozen=True)
class LabelSetDefaults:
    """Official dataset options of a label set (the dataset classes' ``modify_commandline_options``)."""

    label_set: str
    label_nc: int
    contain_dontcare_label: bool
    uses_instance: bool
    crop_size: int
    aspect_ratio: float
    num_upsampling_layers: str
    preprocess_mode: str


LABEL_SETS: dict[str, LabelSetDefaults] = {
    d.label_set: d
    for d in (
        LabelSetDefaults("cityscapes", 35, False, True, 512, 2.0, "more", "fixed"),
        LabelSetDefaults("ade20k", 150, True, False, 256, 1.0, "normal", "resize_and_crop"),
        LabelSetDefaults("coco-stuff", 182, True, True, 256, 1.0, "normal", "resize_and_crop"),
        LabelSetDefaults("celebamask-hq", 19, False, False, 256, 1.0, "normal", "resize_and_crop"),
    )
}
GENERIC = LabelSetDefaults("", 0, False, False, 256, 1.0, "normal", "resize_and_crop")
DATASET_MODE_LABEL_SETS = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco": "coco-stuff"}


def foreign_engine(shapes: Shapes) -> str | None:
    """Name of the engine a generator state dict belongs to when it is not SPADE's, else None."""
    if any(k.startswith("Zencoder.") for k in shapes):
        return "SEAN"
    if any(k.startswith(("model.", "model1_", "model2_")) for k in shapes):
        return "pix2pixHD"
    return None


def check_generator_keys(shapes: Shapes, path: Path | str) -> None:
    """Raise CheckpointError unless ``shapes`` look like a SPADE generator (naming the file)."""
    other = foreign_engine(shapes)
    if other is not None:
        raise CheckpointError(f"{path}: this is a {other} checkpoint, not SPADE; open it with the {other} engine")
    for key in REQUIRED_KEYS:
        if key not in shapes:
            raise CheckpointError(f"{path}: not a SPADE generator (missing key {key!r})")


def _split_semantic_nc(semantic_nc: int) -> tuple[LabelSetDefaults, int, bool, bool] | None:
    """Guess (label set, label_nc, don't-care, no_instance) for a known ``semantic_nc``."""
    for defaults in LABEL_SETS.values():
        base = defaults.label_nc + int(defaults.contain_dontcare_label)
        for uses_instance in (defaults.uses_instance, not defaults.uses_instance):
            if base + int(uses_instance) == semantic_nc:
                return defaults, defaults.label_nc, defaults.contain_dontcare_label, not uses_instance
    return None


def _label_set_for(opt: Mapping[str, str], label_nc: int, dontcare: bool, declared: str | None) -> str | None:
    if declared:
        return declared
    named = DATASET_MODE_LABEL_SETS.get(opt_str(opt, "dataset_mode"))
    if named is not None and LABEL_SETS[named].label_nc == label_nc:
        return named
    for defaults in LABEL_SETS.values():
        if defaults.label_nc == label_nc and defaults.contain_dontcare_label == dontcare:
            return defaults.label_set
    return None


def _resolve_channels(semantic_nc: int, opt: Mapping[str, str], notes: list[str]) -> tuple[int, bool, bool]:
    """(label_nc, contain_dontcare_label, no_instance) whose channel count equals ``semantic_nc``."""
    if "label_nc" in opt:
        label_nc = opt_int(opt, "label_nc", 0)
        dontcare = opt_bool(opt, "contain_dontcare_label")
        no_instance = opt_bool(opt, "no_instance")
        if label_nc + int(dontcare) + int(not no_instance) == semantic_nc:
            return label_nc, dontcare, no_instance
        notes.append(
            f"opt label_nc={label_nc}, contain_dontcare_label={dontcare}, no_instance={no_instance} give "
            f"{label_nc + int(dontcare) + int(not no_instance)} input channels but the weights take "
            f"{semantic_nc}; the tensors win"
        )
    guess = _split_semantic_nc(semantic_nc)
    if guess is not None:
        defaults, label_nc, dontcare, no_instance = guess
        extras = (" + don't-care" if dontcare else "") + ("" if no_instance else " + instance edges")
        notes.append(f"semantic_nc {semantic_nc} read as {defaults.label_set}: label_nc {label_nc}{extras} (guessed)")
        return label_nc, dontcare, no_instance
    notes.append(f"semantic_nc {semantic_nc} is no known label set: label_nc {semantic_nc}, no instance channel")
    return semantic_nc, False, True


def _resolve_norm_g(shapes: Shapes, opt: Mapping[str, str]) -> str:
    """``norm_G`` from the keys: spectral prefix, param-free norm kind and SPADE kernel size."""
    spectral = "head_0.conv_0.weight_orig" in shapes
    if "head_0.norm_0.param_free_norm.running_mean" in shapes:
        # batch and syncbatch have the same keys and the same eval arithmetic; keep opt's word if it has one.
        kind = "batch" if "spadebatch" in opt_str(opt, "norm_G") else "syncbatch"
    else:
        kind = "instance"
    kernel = shapes[SEMANTIC_KEY][-1]
    return f"{'spectral' if spectral else ''}spade{kind}{kernel}x{kernel}"


def _latent_cells(crop_size: int, aspect_ratio: float, num_up: str) -> int:
    sw = crop_size // (2 ** NUM_UP_LAYERS[num_up])
    return sw * round(sw / aspect_ratio)


def _resolve_vae_grid(
    cells: int,
    crop: int,
    aspect: float,
    candidates: list[str],
    crop_given: bool,
    path: Path | str,
    notes: list[str],
) -> tuple[int, str]:
    """(crop_size, num_upsampling_layers) whose latent grid has ``cells`` = sh*sw cells."""
    crops = [crop] if crop_given else []
    crops += [c for c in (crop, 256, 512, 1024, 128) if c not in crops]
    for crop_size in crops:
        for num_up in candidates:
            if _latent_cells(crop_size, aspect, num_up) == cells:
                if crop_size != crop or num_up != candidates[0]:
                    notes.append(
                        f"VAE fc size fits crop_size {crop_size}, num_upsampling_layers {num_up} "
                        f"(not {crop}, {candidates[0]})"
                    )
                return crop_size, num_up
    raise CheckpointError(
        f"{path}: key 'fc.weight' maps z to a {cells}-cell latent grid, which no crop_size with aspect_ratio "
        f"{aspect} and num_upsampling_layers {'/'.join(candidates)} gives"
    )


def infer_encoder(shapes: Shapes, ngf: int, notes: list[str], path: Path | str = "encoder") -> EncoderConfig | None:
    """EncoderConfig from ``latest_net_E.pth`` shapes; None when there is no usable encoder."""
    if not shapes:
        return None
    spectral = "layer1.0.weight_orig" in shapes
    first = shapes.get("layer1.0.weight_orig") or shapes.get("layer1.0.weight")
    if first is None or "fc_mu.weight" not in shapes:
        raise CheckpointError(f"{path}: encoder weights lack 'layer1.0.weight_orig' or 'fc_mu.weight'")
    if "layer1.1.running_mean" in shapes:
        norm = "batch"
    elif "layer1.0.bias" in shapes:
        norm = "none"
    else:
        norm = "instance"
    encoder = EncoderConfig(
        ndf=first[0],
        spectral=spectral,
        norm=norm,
        has_layer6=any(k.startswith("layer6.") for k in shapes),
        latent_dim=shapes["fc_mu.weight"][0],
    )
    if encoder.ndf != ngf:
        notes.append(f"encoder width {encoder.ndf} differs from ngf {ngf} (official ConvEncoder uses ngf)")
    return encoder


def infer_config(
    shapes: Shapes,
    opt: Mapping[str, str],
    path: Path | str,
    encoder_shapes: Shapes | None = None,
    label_set: str | None = None,
) -> SpadeConfig:
    """Resolve every option of a SPADE checkpoint; raises CheckpointError when the shapes cannot fit.

    shapes: generator key -> shape; opt: opt.txt/sidecar options as strings (may be empty);
    label_set: a label set declared by a sidecar.
    """
    check_generator_keys(shapes, path)
    notes: list[str] = []
    semantic_nc = shapes[SEMANTIC_KEY][1]
    width = shapes[WIDTH_KEY][0]
    if width % 16:
        raise CheckpointError(f"{path}: key {WIDTH_KEY!r} has {width} channels, not a multiple of 16 (16*ngf)")
    ngf = width // 16
    label_nc, dontcare, no_instance = _resolve_channels(semantic_nc, opt, notes)
    label_set = _label_set_for(opt, label_nc, dontcare, label_set)
    defaults = LABEL_SETS.get(label_set or "", GENERIC)

    crop_given = "crop_size" in opt
    crop = opt_int(opt, "crop_size", defaults.crop_size)
    aspect = opt_float(opt, "aspect_ratio", defaults.aspect_ratio)
    preprocess_mode = opt_str(opt, "preprocess_mode", defaults.preprocess_mode)
    load_size = opt_int(opt, "load_size", crop) if "load_size" in opt else None

    fc_shape = shapes["fc.weight"]
    use_vae = len(fc_shape) == 2
    z_dim = fc_shape[1] if use_vae else opt_int(opt, "z_dim", 256)

    opt_num = opt_str(opt, "num_upsampling_layers")
    if any(k.startswith("up_4.") for k in shapes):
        candidates = ["most"]
        if opt_num and opt_num != "most":
            notes.append(f"opt num_upsampling_layers={opt_num} but the weights have up_4: 'most'")
    else:
        if opt_num == "most":
            notes.append("opt num_upsampling_layers=most but the weights have no up_4; using the tensors")
        first = opt_num if opt_num in ("normal", "more") else defaults.num_upsampling_layers
        if opt_num not in ("normal", "more"):
            notes.append(f"num_upsampling_layers not given: {first} ({defaults.label_set or 'default'})")
        candidates = [first] + [n for n in ("normal", "more") if n != first]
    num_up = candidates[0]
    if use_vae:
        cells, rest = divmod(fc_shape[0], 16 * ngf)
        if rest:
            raise CheckpointError(f"{path}: key 'fc.weight' has {fc_shape[0]} outputs, not a multiple of 16*ngf")
        crop, num_up = _resolve_vae_grid(cells, crop, aspect, candidates, crop_given, path, notes)

    encoder = infer_encoder(encoder_shapes or {}, ngf, notes, path) if use_vae else None
    if encoder is not None and not encoder.has_layer6:
        notes.append("encoder has no layer6 (crop_size < 256): its fc_mu cannot take the 8x8 features; unused")
        encoder = None

    config = SpadeConfig(
        label_nc=label_nc,
        contain_dontcare_label=dontcare,
        no_instance=no_instance,
        ngf=ngf,
        num_upsampling_layers=num_up,
        norm_G=_resolve_norm_g(shapes, opt),
        use_vae=use_vae,
        z_dim=z_dim,
        crop_size=crop,
        aspect_ratio=aspect,
        preprocess_mode=preprocess_mode,
        load_size=load_size,
        label_set=label_set,
        encoder=encoder,
        spade_hidden=shapes[SEMANTIC_KEY][0],
        notes=tuple(notes),
    )
    for note in notes:
        log.info("%s: %s", path, note)
    return config
