"""Training options under their official names, with the official defaults and dataset presets (torch-free).

Precedence, lowest first, as in the official option parsers: the engine's defaults (``train_options.py`` of
NVlabs/SPADE, ZPdesu/SEAN, NVIDIA/pix2pixHD), then the dataset layout's preset (the official dataset
classes' ``modify_commandline_options``, :mod:`engines.training.presets`), then what the user passed
(:mod:`engines.training.flags` declares every flag with a ``None`` default, so "given" differs from "default").

pix2pixHD names that differ from SPADE's are stored once under the SPADE name and written back under the
pix2pixHD name in its ``opt.txt``: ``fineSize`` = ``crop_size``, ``loadSize`` = ``load_size``,
``resize_or_crop`` = ``preprocess_mode``, ``gan_mode ls`` = LSGAN (``no_lsgan`` False).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from engines.training.presets import ENGINE_DEFAULTS, PRESETS

ENGINES = ("spade", "sean", "pix2pixhd")
LAYOUTS = ("auto", "custom", "flat", "cityscapes", "celebamask-hq", "coco-stuff", "ade20k")
PREPROCESS_MODES = (
    "resize_and_crop",
    "crop",
    "scale_width",
    "scale_width_and_crop",
    "scale_shortside",
    "scale_shortside_and_crop",
    "fixed",
    "none",
)
DONTCARE_ID = 255


class OptionError(ValueError):
    """An option (or combination) the training cannot run with; the message names the flag."""


@dataclass
class TrainOptions:
    """Every option of a run. Official names where the official code has one."""

    engine: str = "spade"
    dataroot: str = ""
    layout: str = "auto"
    label_dir: str | None = None
    image_dir: str | None = None
    instance_dir: str | None = None
    phase: str = "train"
    out: str = ""
    # run control (regionpaint)
    steps: int | None = None
    epochs: int | None = None
    save_every: int = 1000
    save_epoch_freq: int = 10
    sample_every: int = 100
    log_every: int = 10
    device: str = "auto"
    seed: int = 0
    nThreads: int = 0
    max_dataset_size: int | None = None
    vgg_weights: str | None = None
    resume: bool = False
    ade20k_raw_ids: bool = False
    # data
    batchSize: int = 1
    preprocess_mode: str = "scale_width_and_crop"
    load_size: int = 1024
    crop_size: int = 512
    aspect_ratio: float = 1.0
    no_flip: bool = False
    label_nc: int | None = None
    contain_dontcare_label: bool = False
    no_instance: bool = False
    # optimisation
    lr: float = 0.0002
    beta1: float | None = None
    beta2: float | None = None
    no_TTUR: bool = False
    niter: int = 50
    niter_decay: int = 0
    D_steps_per_G: int = 1
    # losses
    gan_mode: str = "hinge"
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    lambda_kld: float = 0.05
    lambda_l1: float = 0.0  # not official: L1(fake, photo); stands in for VGG where its weights cannot be had
    no_ganFeat_loss: bool = False
    no_vgg_loss: bool = False
    pool_size: int = 0
    # networks (SPADE / SEAN)
    ngf: int = 64
    spade_hidden: int = 128  # official SPADE norms are 128 wide
    zencoder_ngf: int = 32  # official SEAN style encoder width
    ndf: int = 64
    num_D: int = 2
    n_layers_D: int = 4
    norm_G: str = "spectralspadesyncbatch3x3"
    norm_D: str = "spectralinstance"
    norm_E: str = "spectralinstance"
    num_upsampling_layers: str = "normal"
    use_vae: bool = False
    z_dim: int = 256
    init_type: str = "xavier"
    init_variance: float = 0.02
    style_length: int = 512  # SEAN: hard-coded 512 in the official code
    # networks (pix2pixHD)
    netG: str = "global"
    norm: str = "instance"
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_local_enhancers: int = 1
    n_blocks_local: int = 3
    niter_fix_global: int = 0
    instance_feat: bool = False
    label_feat: bool = False
    feat_num: int = 3
    nef: int = 16
    n_downsample_E: int = 4
    n_clusters: int = 10
    load_pretrain: str = ""
    notes: list[str] = field(default_factory=list)

    # ---- derived values ---------------------------------------------------------------------------
    @property
    def label_channels(self) -> int:
        """One-hot channels: ``label_nc`` (+1 when 255 is kept as its own don't-care channel)."""
        return int(self.label_nc or 0) + int(self.contain_dontcare_label)

    @property
    def semantic_nc(self) -> int:
        """SPADE/SEAN generator input: label channels + instance edge."""
        return self.label_channels + int(not self.no_instance)

    @property
    def uses_features(self) -> bool:
        return self.engine == "pix2pixhd" and (self.instance_feat or self.label_feat)

    @property
    def total_epochs(self) -> int:
        return self.niter + self.niter_decay

    @property
    def betas(self) -> tuple[float, float]:
        """Adam betas; SPADE/SEAN defaults depend on TTUR (0, 0.9) vs no TTUR (0.5, 0.999)."""
        if self.engine == "pix2pixhd":
            return (0.5 if self.beta1 is None else self.beta1), 0.999
        default1, default2 = (0.5, 0.999) if self.no_TTUR else (0.0, 0.9)
        if self.engine == "sean" and not self.no_TTUR:
            return 0.0, 0.9  # the official SEAN create_optimizers ignores --beta1/--beta2 under TTUR
        return (default1 if self.beta1 is None else self.beta1), (default2 if self.beta2 is None else self.beta2)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TrainOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def preset_for(engine: str, layout: str) -> dict[str, Any]:
    """The dataset preset of ``layout`` for ``engine`` (empty for unknown layouts)."""
    family = "pix2pixhd" if engine == "pix2pixhd" else "spade"
    return dict(PRESETS.get(layout, {}).get(family, {}))


def defaults_for(engine: str, layout: str) -> TrainOptions:
    """Options before user flags: base < engine defaults < layout preset."""
    if engine not in ENGINES:
        raise OptionError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    opt = TrainOptions(engine=engine, layout=layout)
    for key, value in {**ENGINE_DEFAULTS[engine], **preset_for(engine, layout)}.items():
        setattr(opt, key, value)
    return opt


def resolve_options(
    engine: str,
    dataroot: str | Path,
    out: str | Path,
    given: Mapping[str, Any],
    layout: str | None = None,
    device: str = "auto",
    resume: bool = False,
) -> TrainOptions:
    """Build the options of a run: defaults < preset of ``layout`` < ``given``; then check them.

    ``layout`` must already be resolved (not ``auto``) for the preset to apply; see
    :func:`engines.training.layouts.detect_layout`. ``label_nc`` may stay None (filled from the data).
    """
    layout = layout or given.get("layout") or "custom"
    opt = defaults_for(engine, layout)
    given = dict(given)
    given.pop("layout", None)
    _scale_load_size(opt, given)
    for key, value in given.items():
        setattr(opt, key, value)
    opt.dataroot, opt.out, opt.device, opt.resume = str(dataroot), str(out), device, resume
    apply_epochs(opt, given)
    check_options(opt)
    return opt


def _scale_load_size(opt: TrainOptions, given: Mapping[str, Any]) -> None:
    """A user crop size without a load size keeps the preset's load/crop ratio (286/256 -> 72/64)."""
    if "crop_size" in given and "load_size" not in given and opt.crop_size:
        opt.load_size = max(int(given["crop_size"]), round(given["crop_size"] * opt.load_size / opt.crop_size))


def apply_epochs(opt: TrainOptions, given: Mapping[str, Any]) -> None:
    """``--epochs N`` sets niter + niter_decay = N, split in the engine's default proportion unless given."""
    if opt.epochs is None:
        return
    total = int(opt.epochs)
    if total < 1:
        raise OptionError("--epochs must be at least 1")
    if "niter" in given and "niter_decay" not in given:
        opt.niter_decay = max(0, total - opt.niter)
    elif "niter_decay" in given and "niter" not in given:
        opt.niter = max(0, total - opt.niter_decay)
    elif "niter" not in given:
        defaults = defaults_for(opt.engine, "custom")
        share = defaults.niter / max(1, defaults.niter + defaults.niter_decay)
        opt.niter = max(1, math.ceil(total * share))
        opt.niter_decay = total - opt.niter
    if opt.niter + opt.niter_decay != total:
        raise OptionError(f"--epochs {total} disagrees with --niter {opt.niter} + --niter_decay {opt.niter_decay}")


def check_options(opt: TrainOptions) -> None:
    """Raise OptionError for combinations the official code cannot train (naming the flags)."""
    positive = ("batchSize", "crop_size", "load_size", "ngf", "ndf", "num_D", "n_layers_D", "save_every")
    for key in positive:
        if getattr(opt, key) is not None and getattr(opt, key) < 1:
            raise OptionError(f"--{key} must be at least 1 (got {getattr(opt, key)})")
    if opt.steps is not None and opt.steps < 1:
        raise OptionError("--steps must be at least 1")
    if opt.engine == "pix2pixhd":
        _check_pix2pixhd(opt)
    else:
        _check_spade_family(opt)
    if opt.label_nc is not None and not 1 <= opt.label_nc <= 255:
        raise OptionError(f"--label_nc {opt.label_nc}: expected 1..255 classes")


def _check_spade_family(opt: TrainOptions) -> None:
    ups = {"normal": 5, "more": 6, "most": 7}[opt.num_upsampling_layers]
    sw = opt.crop_size // 2**ups
    sh = round(sw / opt.aspect_ratio) if sw else 0
    if sw < 1 or sh < 1:
        raise OptionError(
            f"--crop_size {opt.crop_size} with num_upsampling_layers {opt.num_upsampling_layers} and aspect "
            f"{opt.aspect_ratio} gives an empty latent grid ({sw}x{sh}); use a crop size of at least "
            f"{2**ups * max(1, math.ceil(opt.aspect_ratio))}"
        )
    batch_norm = opt.engine == "sean" or "batch" in opt.norm_G  # SEAN's ACEs are always sync-batch
    if batch_norm and opt.batchSize * sw * sh < 2:
        raise OptionError(
            f"--batch-size {opt.batchSize} with a {sw}x{sh} latent grid gives batch norm one value per channel; "
            "use a larger --batch-size or --crop_size"
        )
    if opt.engine == "sean":
        if opt.use_vae:
            raise OptionError("--use_vae: SEAN has no VAE (its style encoder is part of the generator)")
        if opt.num_upsampling_layers == "most":
            raise OptionError("--num_upsampling_layers most: the official SEAN forward cannot run it")
    if opt.use_vae and opt.crop_size < 256:
        raise OptionError(
            "--use_vae needs --crop_size >= 256: the official ConvEncoder's fc_mu expects 4x4 features, "
            "which only its layer6 (built for crop_size >= 256) produces"
        )
    if opt.gan_mode not in ("hinge", "ls", "original", "w"):
        raise OptionError(f"--gan_mode {opt.gan_mode!r}: expected hinge, ls, original or w")


def _check_pix2pixhd(opt: TrainOptions) -> None:
    if opt.instance_feat and opt.label_feat:
        raise OptionError("--instance_feat and --label_feat exclude each other")
    if opt.instance_feat and opt.no_instance:
        raise OptionError("--instance_feat needs instance maps (drop --no_instance)")
    if opt.gan_mode not in ("ls", "original"):
        raise OptionError(f"--gan_mode {opt.gan_mode!r}: pix2pixHD trains with ls (default) or original")
    if opt.niter_fix_global and opt.netG != "local":
        raise OptionError("--niter_fix_global only applies to --netG local")


def size_base(opt: TrainOptions) -> int:
    """pix2pixHD's ``__make_power_2`` base: sizes must be multiples of it."""
    base = 2**opt.n_downsample_global
    if opt.netG == "local":
        base *= 2**opt.n_local_enhancers
    return base


# Options that shape the networks: a resumed run must keep them.
ARCHITECTURE_KEYS = (
    "engine",
    "label_nc",
    "contain_dontcare_label",
    "no_instance",
    "ngf",
    "ndf",
    "num_D",
    "n_layers_D",
    "norm_G",
    "norm_D",
    "norm_E",
    "num_upsampling_layers",
    "use_vae",
    "z_dim",
    "style_length",
    "netG",
    "norm",
    "n_downsample_global",
    "n_blocks_global",
    "n_local_enhancers",
    "n_blocks_local",
    "instance_feat",
    "label_feat",
    "feat_num",
    "nef",
    "n_downsample_E",
    "crop_size",
    "aspect_ratio",
)


def architecture_differences(saved: TrainOptions, given: Mapping[str, Any]) -> list[str]:
    """``--flag saved -> given`` for every architecture option a resumed run was asked to change."""
    return [
        f"--{key} {getattr(saved, key)} -> {given[key]}"
        for key in ARCHITECTURE_KEYS
        if key in given and given[key] != getattr(saved, key)
    ]
