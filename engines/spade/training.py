"""SPADE's training declarations (torch-free): its options, official defaults, presets, checks and ``opt.txt``.

The option set is NVlabs/SPADE's ``train_options.py`` minus what every trainer shares
(:mod:`regionpaint.engines.training.schema`). SEAN, a fork of SPADE, trains with the same set plus its own
(``engines/sean/training.py``). The training model is in :mod:`regionpaint.engines.spade.train_model`.
"""

from __future__ import annotations

import math
from typing import Any

from regionpaint.engines.schema import Option
from regionpaint.engines.training.contract import EngineTrainer
from regionpaint.engines.training.official_opt import DATASET_MODES, run_name_and_dir
from regionpaint.engines.training.options import OptionError, TrainOptions

SPADE_FAMILY_OPTIONS: tuple[Option, ...] = (
    Option(
        "no_TTUR",
        "bool",
        False,
        "same lr for G and D (no lr/2, lr*2)",
        advanced=True,
        label="No TTUR (same lr for G and D)",
    ),
    Option(
        "lambda_vgg",
        "float",
        10.0,
        "VGG perceptual weight",
        minimum=0.0,
        maximum=1000.0,
        advanced=True,
        label="VGG weight",
    ),
    Option(
        "lambda_kld",
        "float",
        0.05,
        "KL weight of the SPADE VAE",
        minimum=0.0,
        maximum=10.0,
        advanced=True,
        label="KL weight",
    ),
    Option(
        "norm_G", "str", "spectralspadesyncbatch3x3", "generator norm", advanced=True, label="Generator norm (norm_G)"
    ),
    Option(
        "norm_D", "str", "spectralinstance", "discriminator norm", advanced=True, label="Discriminator norm (norm_D)"
    ),
    Option("norm_E", "str", "spectralinstance", "VAE encoder norm", advanced=True, label="Encoder norm (norm_E)"),
    Option(
        "num_upsampling_layers",
        "choice",
        "normal",
        "generator upsampling layers",
        choices=("normal", "more", "most"),
        advanced=True,
        label="Upsampling layers",
    ),
    Option(
        "use_vae",
        "bool",
        False,
        "train the VAE image encoder (latest_net_E.pth)",
        advanced=True,
        label="Train the VAE encoder (use_vae)",
    ),
    Option("z_dim", "int", 256, "VAE latent size", minimum=1, advanced=True, label="VAE latent size (z_dim)"),
    Option(
        "init_type",
        "choice",
        "xavier",
        "weight init",
        choices=("xavier", "normal", "kaiming", "orthogonal"),
        advanced=True,
        label="Weight init",
    ),
    Option("init_variance", "float", 0.02, "weight init gain", minimum=0.0, advanced=True, label="Weight init gain"),
    Option(
        "spade_hidden",
        "int",
        128,
        "hidden width of every SPADE norm (official: 128)",
        minimum=1,
        advanced=True,
        label="SPADE norm width (spade_hidden)",
    ),
)
SPADE_FAMILY_ARCHITECTURE = ("norm_G", "norm_D", "norm_E", "num_upsampling_layers", "use_vae", "z_dim")

# The official dataset classes' set_defaults (CityscapesDataset, ADE20KDataset, CocoDataset, CustomDataset;
# SEAN's CelebAMask-HQ recipe). label_nc None: taken from the data.
SPADE_FAMILY_PRESETS: dict[str, dict[str, Any]] = {
    "cityscapes": {
        "preprocess_mode": "fixed",
        "load_size": 512,
        "crop_size": 512,
        "aspect_ratio": 2.0,
        "label_nc": 35,
        "num_upsampling_layers": "more",
    },
    "ade20k": {
        "preprocess_mode": "resize_and_crop",
        "load_size": 286,
        "crop_size": 256,
        "label_nc": 150,
        "contain_dontcare_label": True,
        "no_instance": True,
    },
    "coco-stuff": {
        "preprocess_mode": "resize_and_crop",
        "load_size": 286,
        "crop_size": 256,
        "label_nc": 182,
        "contain_dontcare_label": True,
    },
    "celebamask-hq": {
        "preprocess_mode": "resize_and_crop",
        "load_size": 256,
        "crop_size": 256,
        "label_nc": 19,
        "no_instance": True,
    },
    "custom": {"preprocess_mode": "resize_and_crop", "load_size": 286, "crop_size": 256, "label_nc": None},
}
SPADE_FAMILY_PRESETS["flat"] = SPADE_FAMILY_PRESETS["custom"]


def check_latent_grid(opt: TrainOptions, batch_norm: bool) -> None:
    """The generator's latent grid must not be empty, and batch norm needs more than one value per channel."""
    ups = {"normal": 5, "more": 6, "most": 7}[opt.num_upsampling_layers]
    sw = opt.crop_size // 2**ups
    sh = round(sw / opt.aspect_ratio) if sw else 0
    if sw < 1 or sh < 1:
        raise OptionError(
            f"--crop_size {opt.crop_size} with num_upsampling_layers {opt.num_upsampling_layers} and aspect "
            f"{opt.aspect_ratio} gives an empty latent grid ({sw}x{sh}); use a crop size of at least "
            f"{2**ups * max(1, math.ceil(opt.aspect_ratio))}"
        )
    if batch_norm and opt.batchSize * sw * sh < 2:
        raise OptionError(
            f"--batch-size {opt.batchSize} with a {sw}x{sh} latent grid gives batch norm one value per channel; "
            "use a larger --batch-size or --crop_size"
        )


class SpadeTrainer(EngineTrainer):
    engine = "spade"
    display_name = "SPADE (GauGAN)"
    options = SPADE_FAMILY_OPTIONS
    presets = SPADE_FAMILY_PRESETS
    architecture_options = SPADE_FAMILY_ARCHITECTURE

    @classmethod
    def check(cls, opt: TrainOptions) -> None:
        check_latent_grid(opt, batch_norm="batch" in opt.norm_G)
        if opt.use_vae and opt.crop_size < 256:
            raise OptionError(
                "--use_vae needs --crop_size >= 256: the official ConvEncoder's fc_mu expects 4x4 features, "
                "which only its layer6 (built for crop_size >= 256) produces"
            )
        if opt.gan_mode not in ("hinge", "ls", "original", "w"):
            raise OptionError(f"--gan_mode {opt.gan_mode!r}: expected hinge, ls, original or w")

    @classmethod
    def betas(cls, opt: TrainOptions) -> tuple[float, float]:
        """TTUR (0, 0.9) by default, (0.5, 0.999) without; --beta1/--beta2 override."""
        default1, default2 = (0.5, 0.999) if opt.no_TTUR else (0.0, 0.9)
        return (default1 if opt.beta1 is None else opt.beta1), (default2 if opt.beta2 is None else opt.beta2)

    @classmethod
    def official_opt(cls, opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
        return spade_family_opt(opt, gpu_ids)

    @classmethod
    def build_model(cls, opt: TrainOptions, device: Any, vgg: Any):
        from regionpaint.engines.spade.train_model import SpadeTrainingModel

        return SpadeTrainingModel(opt, device, vgg)


def spade_family_opt(opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
    name, checkpoints_dir = run_name_and_dir(opt)
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
        "dataset_mode": DATASET_MODES.get(opt.layout, "custom"),
        "debug": False,
        "display_freq": opt.sample_every,
        "display_winsize": opt.crop_size,
        "gan_mode": opt.gan_mode,
        "gpu_ids": gpu_ids,
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
        "use_vae": getattr(opt, "use_vae", False),  # SEAN has no VAE option
        "which_epoch": "latest",
        "z_dim": opt.z_dim,
    }
    if values["dataset_mode"] == "custom":
        values.update(label_dir=opt.label_dir or "", image_dir=opt.image_dir or "", instance_dir=opt.instance_dir or "")
    if opt.spade_hidden != 128:  # this project's extension, recorded only when used
        values["spade_hidden"] = opt.spade_hidden
    return values
