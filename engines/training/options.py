"""Training options under their official names, with the official defaults and dataset presets (torch-free).

Precedence, lowest first, as in the official option parsers: the engine's defaults (``train_options.py`` of
NVlabs/SPADE, ZPdesu/SEAN, NVIDIA/pix2pixHD), then the dataset layout's preset (the official dataset
classes' ``modify_commandline_options``), then what the user passed. :func:`add_arguments` declares every
flag with a ``None`` default so :func:`resolve_options` can tell "given" from "default".

pix2pixHD names that differ from SPADE's are stored once under the SPADE name and written back under the
pix2pixHD name in its ``opt.txt``: ``fineSize`` = ``crop_size``, ``loadSize`` = ``load_size``,
``resize_or_crop`` = ``preprocess_mode``, ``gan_mode ls`` = LSGAN (``no_lsgan`` False).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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
    no_ganFeat_loss: bool = False
    no_vgg_loss: bool = False
    pool_size: int = 0
    # networks (SPADE / SEAN)
    ngf: int = 64
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


# ---- defaults and presets -----------------------------------------------------------------------------

ENGINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "spade": {},
    # ZPdesu/SEAN forked NVlabs/SPADE before its discriminator got 4 layers; niter_decay 50 in its opt.txt.
    "sean": {"n_layers_D": 3, "niter_decay": 50, "lambda_kld": 0.005},
    "pix2pixhd": {
        "n_layers_D": 3,
        "niter": 100,
        "niter_decay": 100,
        "gan_mode": "ls",
        "preprocess_mode": "scale_width",
        "load_size": 1024,
        "crop_size": 512,
        "label_nc": 35,
    },
}

# The official dataset classes' set_defaults, per engine family ("spade" covers SEAN).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cityscapes": {
        "spade": {
            "preprocess_mode": "fixed",
            "load_size": 512,
            "crop_size": 512,
            "aspect_ratio": 2.0,
            "label_nc": 35,
            "num_upsampling_layers": "more",
        },
        "pix2pixhd": {"label_nc": 35},
    },
    "ade20k": {
        "spade": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 286,
            "crop_size": 256,
            "label_nc": 150,
            "contain_dontcare_label": True,
            "no_instance": True,
        },
        "pix2pixhd": {"label_nc": 150, "contain_dontcare_label": True, "no_instance": True},
    },
    "coco-stuff": {
        "spade": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 286,
            "crop_size": 256,
            "label_nc": 182,
            "contain_dontcare_label": True,
        },
        "pix2pixhd": {"label_nc": 182, "contain_dontcare_label": True},
    },
    "celebamask-hq": {
        "spade": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 256,
            "crop_size": 256,
            "label_nc": 19,
            "no_instance": True,
        },
        "pix2pixhd": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 256,
            "crop_size": 256,
            "label_nc": 19,
            "no_instance": True,
        },
    },
    "custom": {
        "spade": {"preprocess_mode": "resize_and_crop", "load_size": 286, "crop_size": 256, "label_nc": None},
        "pix2pixhd": {"label_nc": None},
    },
}
PRESETS["flat"] = PRESETS["custom"]


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


# ---- argparse ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    dest: str
    names: tuple[str, ...]
    kind: type | str  # int, float, str or "bool"
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    group: str = "options"


FLAGS: tuple[Flag, ...] = (
    # data
    Flag("layout", ("--layout",), str, "dataset layout (default: detected)", LAYOUTS, group="data"),
    Flag("label_dir", ("--label-dir", "--label_dir"), str, "custom layout: label maps", metavar="DIR", group="data"),
    Flag("image_dir", ("--image-dir", "--image_dir"), str, "custom layout: photos", metavar="DIR", group="data"),
    Flag("instance_dir", ("--instance-dir", "--instance_dir"), str, "custom layout: instance maps", metavar="DIR",
         group="data"),
    Flag("phase", ("--phase",), str, "dataset split folder (train, val)", group="data"),
    Flag("max_dataset_size", ("--max_dataset_size",), int, "use at most this many samples", group="data"),
    Flag("ade20k_raw_ids", ("--ade20k_raw_ids",), "bool",
         "ADE20K: keep raw ids 0..150 (what the official loader's no-op postprocess actually trains on)",
         group="data"),
    Flag("batchSize", ("--batch-size", "--batchSize"), int, "global batch size (split over torchrun ranks)",
         metavar="B", group="data"),
    Flag("crop_size", ("--crop-size", "--crop_size", "--fineSize"), int, "network size (pix2pixHD fineSize)",
         metavar="S", group="data"),
    Flag("load_size", ("--load_size", "--loadSize"), int, "resize size before cropping", group="data"),
    Flag("preprocess_mode", ("--preprocess_mode", "--resize_or_crop"), str, "official resize/crop mode",
         PREPROCESS_MODES, group="data"),
    Flag("aspect_ratio", ("--aspect_ratio",), float, "width/height for preprocess_mode fixed", group="data"),
    Flag("no_flip", ("--no_flip",), "bool", "no random horizontal flips", group="data"),
    Flag("label_nc", ("--label_nc",), int, "label classes (default: preset, or max id + 1 of the data)",
         group="data"),
    Flag("contain_dontcare_label", ("--contain_dontcare_label",), "bool", "id 255 is a don't-care channel",
         group="data"),
    Flag("no_instance", ("--no_instance",), "bool", "no instance-edge channel", group="data"),
    Flag("nThreads", ("--nThreads", "--workers"), int, "data loading worker processes", group="data"),
    # run control
    Flag("steps", ("--steps",), int, "stop after this many iterations", metavar="N", group="run"),
    Flag("epochs", ("--epochs",), int, "total epochs (niter + niter_decay)", metavar="N", group="run"),
    Flag("save_every", ("--save-every", "--save_latest_freq"), int, "write latest_* every N iterations",
         metavar="N", group="run"),
    Flag("save_epoch_freq", ("--save_epoch_freq",), int, "also keep <epoch>_net_*.pth every N epochs",
         group="run"),
    Flag("sample_every", ("--sample-every", "--display_freq"), int, "write a sample grid every N iterations",
         metavar="N", group="run"),
    Flag("log_every", ("--log-every", "--print_freq"), int, "report losses every N iterations", metavar="N",
         group="run"),
    Flag("seed", ("--seed",), int, "random seed (data order, crops, init)", group="run"),
    Flag("vgg_weights", ("--vgg-weights",), str, "torchvision vgg19 state dict (default: the torch hub cache)",
         metavar="PATH", group="run"),
    Flag("load_pretrain", ("--load_pretrain",), str, "pix2pixHD: start from this run (e.g. global -> local)",
         metavar="DIR", group="run"),
    # optimisation
    Flag("niter", ("--niter",), int, "epochs at the starting learning rate"),
    Flag("niter_decay", ("--niter_decay",), int, "epochs of linear decay to zero"),
    Flag("lr", ("--lr",), float, "initial Adam learning rate"),
    Flag("beta1", ("--beta1",), float, "Adam beta1"),
    Flag("beta2", ("--beta2",), float, "Adam beta2"),
    Flag("no_TTUR", ("--no_TTUR",), "bool", "SPADE/SEAN: same lr for G and D (no lr/2, lr*2)"),
    Flag("D_steps_per_G", ("--D_steps_per_G",), int, "discriminator steps per generator step"),
    # losses
    Flag("gan_mode", ("--gan_mode",), str, "GAN objective", ("hinge", "ls", "original", "w")),
    Flag("lambda_feat", ("--lambda_feat",), float, "feature-matching weight"),
    Flag("lambda_vgg", ("--lambda_vgg",), float, "VGG perceptual weight (SPADE/SEAN)"),
    Flag("lambda_kld", ("--lambda_kld",), float, "KL weight of the SPADE VAE"),
    Flag("no_ganFeat_loss", ("--no_ganFeat_loss",), "bool", "no discriminator feature matching"),
    Flag("no_vgg_loss", ("--no_vgg_loss",), "bool", "no VGG perceptual loss"),
    Flag("pool_size", ("--pool_size",), int, "pix2pixHD: history of fakes shown to D"),
    # networks
    Flag("ngf", ("--ngf",), int, "generator width"),
    Flag("ndf", ("--ndf",), int, "discriminator width"),
    Flag("num_D", ("--num_D",), int, "discriminator scales"),
    Flag("n_layers_D", ("--n_layers_D",), int, "layers per discriminator"),
    Flag("norm_G", ("--norm_G",), str, "SPADE/SEAN generator norm"),
    Flag("norm_D", ("--norm_D",), str, "SPADE/SEAN discriminator norm"),
    Flag("norm_E", ("--norm_E",), str, "SPADE VAE encoder norm"),
    Flag("num_upsampling_layers", ("--num_upsampling_layers",), str, "SPADE/SEAN", ("normal", "more", "most")),
    Flag("use_vae", ("--use_vae",), "bool", "SPADE: train the VAE image encoder (latest_net_E.pth)"),
    Flag("z_dim", ("--z_dim",), int, "SPADE VAE latent size"),
    Flag("init_type", ("--init_type",), str, "SPADE/SEAN init", ("xavier", "normal", "kaiming", "orthogonal")),
    Flag("init_variance", ("--init_variance",), float, "SPADE/SEAN init gain"),
    Flag("style_length", ("--style_length",), int, "SEAN style code length (official: 512)"),
    Flag("netG", ("--netG",), str, "pix2pixHD generator", ("global", "local")),
    Flag("norm", ("--norm",), str, "pix2pixHD norm", ("instance", "batch")),
    Flag("n_downsample_global", ("--n_downsample_global",), int, "pix2pixHD"),
    Flag("n_blocks_global", ("--n_blocks_global",), int, "pix2pixHD"),
    Flag("n_local_enhancers", ("--n_local_enhancers",), int, "pix2pixHD"),
    Flag("n_blocks_local", ("--n_blocks_local",), int, "pix2pixHD"),
    Flag("niter_fix_global", ("--niter_fix_global",), int, "pix2pixHD: epochs training only the local enhancer"),
    Flag("instance_feat", ("--instance_feat",), "bool", "pix2pixHD: train the feature encoder (per instance)"),
    Flag("label_feat", ("--label_feat",), "bool", "pix2pixHD: train the feature encoder (per class)"),
    Flag("feat_num", ("--feat_num",), int, "pix2pixHD feature channels"),
    Flag("nef", ("--nef",), int, "pix2pixHD encoder width"),
    Flag("n_downsample_E", ("--n_downsample_E",), int, "pix2pixHD encoder depth"),
    Flag("n_clusters", ("--n_clusters",), int, "pix2pixHD: k-means clusters per class"),
)
FLAG_BY_DEST = {flag.dest: flag for flag in FLAGS}
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every training flag on ``parser`` (defaults None: presets fill what is not given)."""
    groups: dict[str, Any] = {}
    titles = {"data": "dataset", "run": "run control", "options": "official training options"}
    for flag in FLAGS:
        group = groups.get(flag.group)
        if group is None:
            group = groups[flag.group] = parser.add_argument_group(titles[flag.group])
        if flag.kind == "bool":
            group.add_argument(*flag.names, dest=flag.dest, action="store_true", default=None, help=flag.help)
        else:
            group.add_argument(
                *flag.names,
                dest=flag.dest,
                type=flag.kind,
                default=None,
                choices=flag.choices,
                metavar=flag.metavar,
                help=flag.help,
            )


def given_options(args: argparse.Namespace | Mapping[str, Any]) -> dict[str, Any]:
    """The training flags the user actually passed (argparse leaves the others at None)."""
    values = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    return {dest: values[dest] for dest in FLAG_BY_DEST if values.get(dest) is not None}


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
    _apply_epochs(opt, given)
    check_options(opt)
    return opt


def _scale_load_size(opt: TrainOptions, given: Mapping[str, Any]) -> None:
    """A user crop size without a load size keeps the preset's load/crop ratio (286/256 -> 72/64)."""
    if "crop_size" in given and "load_size" not in given and opt.crop_size:
        opt.load_size = max(int(given["crop_size"]), round(given["crop_size"] * opt.load_size / opt.crop_size))


def _apply_epochs(opt: TrainOptions, given: Mapping[str, Any]) -> None:
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


def architecture_differences(saved: TrainOptions, given: Mapping[str, Any]) -> list[str]:
    """``--flag saved -> given`` for every architecture option a resumed run was asked to change."""
    return [
        f"--{key} {getattr(saved, key)} -> {given[key]}"
        for key in ARCHITECTURE_KEYS
        if key in given and given[key] != getattr(saved, key)
    ]


# ---- official opt.txt --------------------------------------------------------------------------------

_DATASET_MODES = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco-stuff": "coco"}


def official_opt(opt: TrainOptions, world_size: int = 1) -> dict[str, Any]:
    """The options an official ``train.py`` would have written to ``opt.txt`` for this run."""
    if opt.engine == "pix2pixhd":
        return _pix2pixhd_opt(opt, world_size)
    return _spade_opt(opt, world_size)


def _name_and_dir(opt: TrainOptions) -> tuple[str, str]:
    out = Path(opt.out)
    return out.name, str(out.parent)


def _gpu_ids(opt: TrainOptions, world_size: int) -> str:
    return ",".join(str(i) for i in range(world_size)) if opt.device.startswith("cuda") or world_size > 1 else "-1"


def _spade_opt(opt: TrainOptions, world_size: int) -> dict[str, Any]:
    name, checkpoints_dir = _name_and_dir(opt)
    beta1, beta2 = opt.betas
    values: dict[str, Any] = {
        "D_steps_per_G": opt.D_steps_per_G,
        "aspect_ratio": opt.aspect_ratio,
        "batchSize": opt.batchSize,
        "beta1": beta1,
        "beta2": beta2,
        "cache_filelist_read": False,
        "cache_filelist_write": False,
        "checkpoints_dir": checkpoints_dir,
        "contain_dontcare_label": opt.contain_dontcare_label,
        "continue_train": opt.resume,
        "crop_size": opt.crop_size,
        "dataroot": opt.dataroot,
        "dataset_mode": _DATASET_MODES.get(opt.layout, "custom"),
        "debug": False,
        "display_freq": opt.sample_every,
        "display_winsize": opt.crop_size,
        "gan_mode": opt.gan_mode,
        "gpu_ids": _gpu_ids(opt, world_size),
        "init_type": opt.init_type,
        "init_variance": opt.init_variance,
        "isTrain": True,
        "label_nc": opt.label_nc,
        "lambda_feat": opt.lambda_feat,
        "lambda_kld": opt.lambda_kld,
        "lambda_vgg": opt.lambda_vgg,
        "load_from_opt_file": False,
        "load_size": opt.load_size,
        "lr": opt.lr,
        "max_dataset_size": opt.max_dataset_size or 9223372036854775807,
        "model": "pix2pix",
        "nThreads": opt.nThreads,
        "n_layers_D": opt.n_layers_D,
        "name": name,
        "ndf": opt.ndf,
        "nef": 16,
        "netD": "multiscale",
        "netD_subarch": "n_layer",
        "netG": "spade",
        "ngf": opt.ngf,
        "niter": opt.niter,
        "niter_decay": opt.niter_decay,
        "no_TTUR": opt.no_TTUR,
        "no_flip": opt.no_flip,
        "no_ganFeat_loss": opt.no_ganFeat_loss,
        "no_html": True,
        "no_instance": opt.no_instance,
        "no_pairing_check": False,
        "no_vgg_loss": opt.no_vgg_loss,
        "norm_D": opt.norm_D,
        "norm_E": opt.norm_E,
        "norm_G": opt.norm_G,
        "num_D": opt.num_D,
        "num_upsampling_layers": opt.num_upsampling_layers,
        "optimizer": "adam",
        "output_nc": 3,
        "phase": opt.phase,
        "preprocess_mode": opt.preprocess_mode,
        "print_freq": opt.log_every,
        "save_epoch_freq": opt.save_epoch_freq,
        "save_latest_freq": opt.save_every,
        "serial_batches": False,
        "tf_log": False,
        "use_vae": opt.use_vae,
        "which_epoch": "latest",
        "z_dim": opt.z_dim,
    }
    if values["dataset_mode"] == "custom":
        values.update(label_dir=opt.label_dir or "", image_dir=opt.image_dir or "", instance_dir=opt.instance_dir or "")
    if opt.engine == "sean":
        values["status"] = "train"
        values["style_length"] = opt.style_length  # not an official flag (hard-coded 512 there)
    return values


def _pix2pixhd_opt(opt: TrainOptions, world_size: int) -> dict[str, Any]:
    name, checkpoints_dir = _name_and_dir(opt)
    gpu_ids = _gpu_ids(opt, world_size)
    return {
        "batchSize": opt.batchSize,
        "beta1": opt.betas[0],
        "checkpoints_dir": checkpoints_dir,
        "continue_train": opt.resume,
        "data_type": 32,
        "dataroot": opt.dataroot,
        "debug": False,
        "display_freq": opt.sample_every,
        "display_winsize": opt.crop_size,
        "feat_num": opt.feat_num,
        "fineSize": opt.crop_size,
        "fp16": False,
        "gpu_ids": "[]" if gpu_ids == "-1" else f"[{gpu_ids.replace(',', ', ')}]",
        "input_nc": 3,
        "instance_feat": opt.instance_feat,
        "isTrain": True,
        "label_feat": opt.label_feat,
        # pix2pixHD has no don't-care flag: a kept 255 channel is one more label class.
        "label_nc": opt.label_channels,
        "lambda_feat": opt.lambda_feat,
        "loadSize": opt.load_size,
        "load_features": False,
        "load_pretrain": opt.load_pretrain,
        "lr": opt.lr,
        "max_dataset_size": opt.max_dataset_size or "inf",
        "model": "pix2pixHD",
        "nThreads": opt.nThreads,
        "n_blocks_global": opt.n_blocks_global,
        "n_blocks_local": opt.n_blocks_local,
        "n_clusters": opt.n_clusters,
        "n_downsample_E": opt.n_downsample_E,
        "n_downsample_global": opt.n_downsample_global,
        "n_layers_D": opt.n_layers_D,
        "n_local_enhancers": opt.n_local_enhancers,
        "name": name,
        "ndf": opt.ndf,
        "nef": opt.nef,
        "netG": opt.netG,
        "ngf": opt.ngf,
        "niter": opt.niter,
        "niter_decay": opt.niter_decay,
        "niter_fix_global": opt.niter_fix_global,
        "no_flip": opt.no_flip,
        "no_ganFeat_loss": opt.no_ganFeat_loss,
        "no_html": True,
        "no_instance": opt.no_instance,
        "no_lsgan": opt.gan_mode != "ls",
        "no_vgg_loss": opt.no_vgg_loss,
        "norm": opt.norm,
        "num_D": opt.num_D,
        "output_nc": 3,
        "phase": opt.phase,
        "pool_size": opt.pool_size,
        "print_freq": opt.log_every,
        "resize_or_crop": opt.preprocess_mode,
        "save_epoch_freq": opt.save_epoch_freq,
        "save_latest_freq": opt.save_every,
        "serial_batches": False,
        "tf_log": False,
        "use_dropout": False,
        "verbose": False,
        "which_epoch": "latest",
    }


def command_line(engine: str, data: str, out: str, given: Mapping[str, Any], extra: Sequence[str] = ()) -> list[str]:
    """``train`` argv for ``regionpaint`` from option values (used by the editor's training dialog)."""
    argv = ["train", "--engine", engine, "--data", str(data), "--out", str(out)]
    for dest, value in given.items():
        flag = FLAG_BY_DEST[dest]
        if flag.kind == "bool":
            if value:
                argv.append(flag.names[0])
        elif value is not None and value != "":
            argv += [flag.names[0], str(value)]
    return argv + list(extra)
