"""pix2pixHD's training declarations (torch-free): options, official defaults, presets, checks and ``opt.txt``.

NVIDIA/pix2pixHD names that differ from the shared (SPADE) names are stored once under the shared name and
written back under the pix2pixHD name in its ``opt.txt``: ``fineSize`` = ``crop_size``, ``loadSize`` =
``load_size``, ``resize_or_crop`` = ``preprocess_mode``, ``gan_mode ls`` = LSGAN (``no_lsgan`` False).
The training model is in :mod:`regionpaint.engines.pix2pixhd.train_model`; the feature clusters written after a run
with an encoder in :mod:`regionpaint.engines.pix2pixhd.train_features`.
"""

from __future__ import annotations

from typing import Any

from regionpaint.engines.schema import Option
from regionpaint.engines.training.contract import EngineTrainer
from regionpaint.engines.training.official_opt import run_name_and_dir
from regionpaint.engines.training.options import OptionError, TrainOptions

PIX2PIXHD_OPTIONS: tuple[Option, ...] = (
    Option(
        "pool_size", "int", 0, "history of fakes shown to D", minimum=0, advanced=True, label="Fake history (pool_size)"
    ),
    Option(
        "netG", "choice", "global", "generator", choices=("global", "local"), advanced=True, label="Generator (netG)"
    ),
    Option("norm", "choice", "instance", "norm", choices=("instance", "batch"), advanced=True, label="Norm"),
    Option(
        "n_downsample_global",
        "int",
        4,
        "global generator downsamplings",
        minimum=1,
        advanced=True,
        label="Global downsamplings",
    ),
    Option(
        "n_blocks_global",
        "int",
        9,
        "global generator residual blocks",
        minimum=1,
        advanced=True,
        label="Global residual blocks",
    ),
    Option("n_local_enhancers", "int", 1, "local enhancers", minimum=1, advanced=True, label="Local enhancers"),
    Option(
        "n_blocks_local",
        "int",
        3,
        "residual blocks per local enhancer",
        minimum=1,
        advanced=True,
        label="Local residual blocks",
    ),
    Option(
        "niter_fix_global",
        "int",
        0,
        "epochs training only the local enhancer",
        minimum=0,
        maximum=1000,
        advanced=True,
        label="Epochs training only the local enhancer",
    ),
    Option(
        "instance_feat",
        "bool",
        False,
        "train the feature encoder (per instance)",
        advanced=True,
        label="Train the feature encoder (instance_feat)",
    ),
    Option(
        "label_feat",
        "bool",
        False,
        "train the feature encoder (per class)",
        advanced=True,
        label="Train the feature encoder (label_feat)",
    ),
    Option("feat_num", "int", 3, "feature channels", minimum=1, advanced=True, label="Feature channels (feat_num)"),
    Option("nef", "int", 16, "encoder width", minimum=1, advanced=True, label="Encoder width (nef)"),
    Option("n_downsample_E", "int", 4, "encoder depth", minimum=1, advanced=True, label="Encoder downsamplings"),
    Option(
        "n_clusters",
        "int",
        10,
        "k-means clusters per class",
        minimum=1,
        maximum=100,
        advanced=True,
        label="Feature clusters per class",
    ),
)
PIX2PIXHD_ARCHITECTURE = (
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
)
# NVIDIA/pix2pixHD's defaults where they differ from the shared (SPADE) ones.
PIX2PIXHD_DEFAULTS: dict[str, Any] = {
    "n_layers_D": 3,
    "niter": 100,
    "niter_decay": 100,
    "gan_mode": "ls",
    "preprocess_mode": "scale_width",
    "load_size": 1024,
    "crop_size": 512,
    "label_nc": 35,
}
PIX2PIXHD_PRESETS: dict[str, dict[str, Any]] = {
    "cityscapes": {"label_nc": 35},
    "ade20k": {"label_nc": 150, "contain_dontcare_label": True, "no_instance": True},
    "coco-stuff": {"label_nc": 182, "contain_dontcare_label": True},
    "celebamask-hq": {
        "preprocess_mode": "resize_and_crop",
        "load_size": 256,
        "crop_size": 256,
        "label_nc": 19,
        "no_instance": True,
    },
    "custom": {"label_nc": None},
    "flat": {"label_nc": None},
}


def uses_features(opt: TrainOptions) -> bool:
    """The run trains the feature encoder E (per instance or per class)."""
    return bool(opt.instance_feat or opt.label_feat)


def size_base(opt: TrainOptions) -> int:
    """pix2pixHD's ``__make_power_2`` base: sizes must be multiples of it."""
    base = 2**opt.n_downsample_global
    if opt.netG == "local":
        base *= 2**opt.n_local_enhancers
    return base


class Pix2PixHDTrainer(EngineTrainer):
    engine = "pix2pixhd"
    display_name = "pix2pixHD"
    options = PIX2PIXHD_OPTIONS
    defaults = PIX2PIXHD_DEFAULTS
    presets = PIX2PIXHD_PRESETS
    architecture_options = PIX2PIXHD_ARCHITECTURE
    crop_only_if_larger = True  # pix2pixHD's __crop

    @classmethod
    def check(cls, opt: TrainOptions) -> None:
        if opt.instance_feat and opt.label_feat:
            raise OptionError("--instance_feat and --label_feat exclude each other")
        if opt.instance_feat and opt.no_instance:
            raise OptionError("--instance_feat needs instance maps (drop --no_instance)")
        if opt.gan_mode not in ("ls", "original"):
            raise OptionError(f"--gan_mode {opt.gan_mode!r}: pix2pixHD trains with ls (default) or original")
        if opt.niter_fix_global and opt.netG != "local":
            raise OptionError("--niter_fix_global only applies to --netG local")

    @classmethod
    def betas(cls, opt: TrainOptions) -> tuple[float, float]:
        return (0.5 if opt.beta1 is None else opt.beta1), 0.999

    @classmethod
    def size_multiple(cls, opt: TrainOptions) -> int:
        return size_base(opt)

    @classmethod
    def generator_param_set(cls, opt: TrainOptions, epoch: int) -> str:
        """``niter_fix_global``: "local" (only the outermost enhancer) for its first epochs, else "all"."""
        return "local" if opt.netG == "local" and 0 < epoch <= opt.niter_fix_global else "all"

    @classmethod
    def official_opt(cls, opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
        return pix2pixhd_opt(opt, gpu_ids)

    @classmethod
    def opt_text(cls, values) -> str:
        """pix2pixHD's own opt.txt layout."""
        lines = ["------------ Options -------------"] + [f"{k}: {v}" for k, v in sorted(values.items())]
        return "\n".join(lines + ["-------------- End ----------------"]) + "\n"

    @classmethod
    def build_model(cls, opt: TrainOptions, device: Any, vgg: Any):
        from regionpaint.engines.pix2pixhd.train_model import Pix2PixHDTrainingModel

        return Pix2PixHDTrainingModel(opt, device, vgg)

    @classmethod
    def after_training(cls, trainer) -> None:
        """With an encoder: the official encode_features + k-means into the run folder."""
        if not uses_features(trainer.opt):
            return
        from regionpaint.engines.pix2pixhd.train_features import encode_and_cluster

        opt = trainer.opt
        samples = trainer.training_samples()
        path, centres = encode_and_cluster(
            trainer.model.module("E"), samples, opt, trainer.device, trainer.run_dir.path
        )
        trainer.emit("features", path=str(path), classes=sorted(centres))


def pix2pixhd_opt(opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
    name, checkpoints_dir = run_name_and_dir(opt)
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
