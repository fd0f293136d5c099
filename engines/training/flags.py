"""The ``regionpaint train`` flags: official names (``--niter``, ``--no_TTUR``, ``--batchSize``, ...) plus
hyphenated aliases for the common ones (``--batch-size``, ``--crop-size``, ``--save-every``), torch-free.

Every flag defaults to None, so :func:`given_options` returns exactly what the user passed and the presets of
:mod:`engines.training.presets` fill the rest. :func:`command_line` writes option values back as an argv.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.training.options import LAYOUTS, PREPROCESS_MODES


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
    Flag(
        "instance_dir",
        ("--instance-dir", "--instance_dir"),
        str,
        "custom layout: instance maps",
        metavar="DIR",
        group="data",
    ),
    Flag("phase", ("--phase",), str, "dataset split folder (train, val)", group="data"),
    Flag("max_dataset_size", ("--max_dataset_size",), int, "use at most this many samples", group="data"),
    Flag(
        "ade20k_raw_ids",
        ("--ade20k_raw_ids",),
        "bool",
        "ADE20K: keep raw ids 0..150 (what the official loader's no-op postprocess actually trains on)",
        group="data",
    ),
    Flag(
        "batchSize",
        ("--batch-size", "--batchSize"),
        int,
        "global batch size (split over torchrun ranks)",
        metavar="B",
        group="data",
    ),
    Flag(
        "crop_size",
        ("--crop-size", "--crop_size", "--fineSize"),
        int,
        "network size (pix2pixHD fineSize)",
        metavar="S",
        group="data",
    ),
    Flag("load_size", ("--load_size", "--loadSize"), int, "resize size before cropping", group="data"),
    Flag(
        "preprocess_mode",
        ("--preprocess_mode", "--resize_or_crop"),
        str,
        "official resize/crop mode",
        PREPROCESS_MODES,
        group="data",
    ),
    Flag("aspect_ratio", ("--aspect_ratio",), float, "width/height for preprocess_mode fixed", group="data"),
    Flag("no_flip", ("--no_flip",), "bool", "no random horizontal flips", group="data"),
    Flag("label_nc", ("--label_nc",), int, "label classes (default: preset, or max id + 1 of the data)", group="data"),
    Flag(
        "contain_dontcare_label", ("--contain_dontcare_label",), "bool", "id 255 is a don't-care channel", group="data"
    ),
    Flag("no_instance", ("--no_instance",), "bool", "no instance-edge channel", group="data"),
    Flag("nThreads", ("--nThreads", "--workers"), int, "data loading worker processes", group="data"),
    # run control
    Flag("steps", ("--steps",), int, "stop after this many iterations", metavar="N", group="run"),
    Flag("epochs", ("--epochs",), int, "total epochs (niter + niter_decay)", metavar="N", group="run"),
    Flag(
        "save_every",
        ("--save-every", "--save_latest_freq"),
        int,
        "write latest_* every N iterations",
        metavar="N",
        group="run",
    ),
    Flag("save_epoch_freq", ("--save_epoch_freq",), int, "also keep <epoch>_net_*.pth every N epochs", group="run"),
    Flag(
        "sample_every",
        ("--sample-every", "--display_freq"),
        int,
        "write a sample grid every N iterations",
        metavar="N",
        group="run",
    ),
    Flag(
        "log_every", ("--log-every", "--print_freq"), int, "report losses every N iterations", metavar="N", group="run"
    ),
    Flag("seed", ("--seed",), int, "random seed (data order, crops, init)", group="run"),
    Flag(
        "vgg_weights",
        ("--vgg-weights",),
        str,
        "torchvision vgg19 state dict (default: the torch hub cache)",
        metavar="PATH",
        group="run",
    ),
    Flag(
        "load_pretrain",
        ("--load_pretrain",),
        str,
        "pix2pixHD: start from this run (e.g. global -> local)",
        metavar="DIR",
        group="run",
    ),
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
    Flag("lambda_l1", ("--lambda_l1",), float, "L1 photo reconstruction weight (not official; default 0)"),
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
    Flag("spade_hidden", ("--spade_hidden",), int, "SPADE/SEAN: hidden width of every SPADE norm (official: 128)"),
    Flag("zencoder_ngf", ("--zencoder_ngf",), int, "SEAN style encoder width (official: 32)"),
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
