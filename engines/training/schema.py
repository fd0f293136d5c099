"""The shared training options, declared once: flags, dialog fields and defaults come from here (torch-free).

:data:`SHARED_OPTIONS` holds what every trainer shares (dataset, run control, schedule, the shared losses
and discriminators); each trainer adds its own (:attr:`EngineTrainer.options`). :class:`TrainingOption` is
an :class:`regionpaint.engines.schema.Option` with what the ``train`` command line and the dialog need besides: the
official flag names and aliases, the help group, and whether the Train dialog shows it. A plain ``Option``
from a plugin's trainer gets ``--name`` (and ``--name-with-dashes``) and is always shown in the dialog.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regionpaint.engines.schema import Option

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
GROUP_TITLES = {"data": "dataset", "run": "run control", "options": "official training options"}


@dataclass(frozen=True)
class TrainingOption(Option):
    names: tuple[str, ...] = ()  # command-line flags, the first one written back; default --<name>
    group: str = "options"  # data, run or options (the --help sections)
    metavar: str | None = None
    dialog: bool = False  # a field of the Train dialog (basic, or under Advanced with advanced=True)


def flag_names(option: Option) -> tuple[str, ...]:
    """The flags of ``option``: its declared names, else ``--name`` plus the dashed spelling."""
    names = getattr(option, "names", ())
    if names:
        return names
    plain, dashed = f"--{option.name}", option.cli_flag
    return (plain,) if plain == dashed else (plain, dashed)


def in_dialog(option: Option) -> bool:
    """Shared options opt in; a plugin trainer's own options are always shown."""
    return getattr(option, "dialog", True)


def _opt(name: str, kind: str, default, help: str, **more) -> TrainingOption:
    return TrainingOption(name, kind, default, help, **more)


SHARED_OPTIONS: tuple[TrainingOption, ...] = (
    # data
    _opt("layout", "choice", "auto", "dataset layout (default: detected)", choices=LAYOUTS, group="data"),
    _opt(
        "label_dir",
        "path",
        None,
        "custom layout: label maps",
        names=("--label-dir", "--label_dir"),
        metavar="DIR",
        group="data",
    ),
    _opt(
        "image_dir",
        "path",
        None,
        "custom layout: photos",
        names=("--image-dir", "--image_dir"),
        metavar="DIR",
        group="data",
    ),
    _opt(
        "instance_dir",
        "path",
        None,
        "custom layout: instance maps",
        names=("--instance-dir", "--instance_dir"),
        metavar="DIR",
        group="data",
    ),
    _opt("phase", "str", "train", "dataset split folder (train, val)", group="data"),
    _opt("max_dataset_size", "int", None, "use at most this many samples", minimum=1, group="data"),
    _opt(
        "ade20k_raw_ids",
        "bool",
        False,
        "ADE20K: keep raw ids 0..150 (what the official loader's no-op postprocess actually trains on)",
        group="data",
    ),
    _opt(
        "batchSize",
        "int",
        1,
        "global batch size (split over torchrun ranks)",
        minimum=1,
        maximum=1024,
        names=("--batch-size", "--batchSize"),
        metavar="B",
        group="data",
        dialog=True,
        label="Batch size",
    ),
    _opt(
        "crop_size",
        "int",
        512,
        "network size (pix2pixHD fineSize)",
        minimum=1,
        maximum=4096,
        names=("--crop-size", "--crop_size", "--fineSize"),
        metavar="S",
        group="data",
        dialog=True,
        label="Crop size",
    ),
    _opt(
        "load_size",
        "int",
        1024,
        "resize size before cropping",
        minimum=1,
        names=("--load_size", "--loadSize"),
        group="data",
    ),
    _opt(
        "preprocess_mode",
        "choice",
        "scale_width_and_crop",
        "official resize/crop mode",
        choices=PREPROCESS_MODES,
        names=("--preprocess_mode", "--resize_or_crop"),
        group="data",
    ),
    _opt("aspect_ratio", "float", 1.0, "width/height for preprocess_mode fixed", group="data"),
    _opt(
        "no_flip",
        "bool",
        False,
        "no random horizontal flips",
        group="data",
        dialog=True,
        advanced=True,
        label="No random flips",
    ),
    _opt(
        "label_nc",
        "int",
        None,
        "label classes (default: preset, or max id + 1 of the data)",
        minimum=1,
        maximum=255,
        group="data",
        dialog=True,
        label="Label classes",
    ),
    _opt("contain_dontcare_label", "bool", False, "id 255 is a don't-care channel", group="data"),
    _opt("no_instance", "bool", False, "no instance-edge channel", group="data"),
    _opt(
        "nThreads",
        "int",
        0,
        "data loading worker processes",
        minimum=0,
        names=("--nThreads", "--workers"),
        group="data",
    ),
    # run control
    _opt("steps", "int", None, "stop after this many iterations", minimum=1, metavar="N", group="run"),
    _opt("epochs", "int", None, "total epochs (niter + niter_decay)", metavar="N", group="run"),
    _opt(
        "save_every",
        "int",
        1000,
        "write latest_* every N iterations",
        minimum=1,
        maximum=10**7,
        names=("--save-every", "--save_latest_freq"),
        metavar="N",
        group="run",
        dialog=True,
        advanced=True,
        label="Save every N iterations",
    ),
    _opt("save_epoch_freq", "int", 10, "also keep <epoch>_net_*.pth every N epochs", minimum=1, group="run"),
    _opt(
        "sample_every",
        "int",
        100,
        "write a sample grid every N iterations",
        minimum=1,
        maximum=10**7,
        names=("--sample-every", "--display_freq"),
        metavar="N",
        group="run",
        dialog=True,
        advanced=True,
        label="Sample every N iterations",
    ),
    _opt(
        "log_every",
        "int",
        10,
        "report losses every N iterations",
        minimum=1,
        names=("--log-every", "--print_freq"),
        metavar="N",
        group="run",
    ),
    _opt("seed", "int", 0, "random seed (data order, crops, init)", group="run"),
    _opt(
        "vgg_weights",
        "path",
        None,
        "torchvision vgg19 state dict (default: the torch hub cache)",
        names=("--vgg-weights",),
        metavar="PATH",
        group="run",
    ),
    _opt(
        "load_pretrain",
        "path",
        "",
        "start from this run's matching weights (e.g. pix2pixHD global -> local)",
        metavar="DIR",
        group="run",
    ),
    # optimisation
    _opt(
        "niter",
        "int",
        50,
        "epochs at the starting learning rate",
        minimum=0,
        maximum=100000,
        dialog=True,
        advanced=True,
        label="Epochs at full lr (niter)",
    ),
    _opt(
        "niter_decay",
        "int",
        0,
        "epochs of linear decay to zero",
        minimum=0,
        maximum=100000,
        dialog=True,
        advanced=True,
        label="Epochs of decay (niter_decay)",
    ),
    _opt(
        "lr",
        "float",
        0.0002,
        "initial Adam learning rate",
        minimum=0.0,
        maximum=1.0,
        dialog=True,
        advanced=True,
        label="Learning rate",
    ),
    _opt("beta1", "float", None, "Adam beta1"),
    _opt("beta2", "float", None, "Adam beta2"),
    _opt("D_steps_per_G", "int", 1, "discriminator steps per generator step", minimum=1),
    # losses
    _opt("gan_mode", "choice", "hinge", "GAN objective", choices=("hinge", "ls", "original", "w")),
    _opt(
        "lambda_feat",
        "float",
        10.0,
        "feature-matching weight",
        minimum=0.0,
        maximum=1000.0,
        dialog=True,
        advanced=True,
        label="Feature matching weight",
    ),
    _opt("lambda_l1", "float", 0.0, "L1 photo reconstruction weight (not official; default 0)", minimum=0.0),
    _opt("no_ganFeat_loss", "bool", False, "no discriminator feature matching"),
    _opt(
        "no_vgg_loss",
        "bool",
        False,
        "no VGG perceptual loss",
        dialog=True,
        advanced=True,
        label="No VGG perceptual loss",
    ),
    # networks: the generator width every engine has, and the shared discriminators
    _opt("ngf", "int", 64, "generator width", minimum=1, maximum=512, dialog=True, label="Generator width (ngf)"),
    _opt(
        "ndf",
        "int",
        64,
        "discriminator width",
        minimum=1,
        maximum=512,
        dialog=True,
        advanced=True,
        label="Discriminator width (ndf)",
    ),
    _opt(
        "num_D",
        "int",
        2,
        "discriminator scales",
        minimum=1,
        maximum=8,
        dialog=True,
        advanced=True,
        label="Discriminator scales (num_D)",
    ),
    _opt(
        "n_layers_D",
        "int",
        4,
        "layers per discriminator",
        minimum=1,
        maximum=8,
        dialog=True,
        advanced=True,
        label="Layers per discriminator",
    ),
)

# Shared options that shape the networks: a resumed run must keep them.
SHARED_ARCHITECTURE = (
    "label_nc",
    "contain_dontcare_label",
    "no_instance",
    "ngf",
    "ndf",
    "num_D",
    "n_layers_D",
    "crop_size",
    "aspect_ratio",
)


def merged(*schemas: Iterable[Option]) -> tuple[Option, ...]:
    """Options by name, first declaration wins (a trainer cannot redefine a shared option)."""
    seen: dict[str, Option] = {}
    for schema in schemas:
        for option in schema:
            seen.setdefault(option.name, option)
    return tuple(seen.values())
