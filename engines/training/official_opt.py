"""What an official ``train.py`` writes to ``opt.txt`` for a run: every option under its official name.

SPADE and SEAN share one option set (SEAN adds ``status``; regionpaint adds SEAN's ``style_length``, hard-coded 512
in the official code); pix2pixHD has its own names (``fineSize``, ``loadSize``, ``resize_or_crop``, ``no_lsgan``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engines.training.options import TrainOptions

_DATASET_MODES = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco-stuff": "coco"}


def official_opt(opt: TrainOptions, world_size: int = 1, cuda: bool = False) -> dict[str, Any]:
    """The options an official ``train.py`` would have written to ``opt.txt`` for this run (``gpu_ids`` from
    the number of processes when they run on CUDA, ``-1`` on CPU)."""
    gpu_ids = ",".join(str(i) for i in range(world_size)) if cuda else "-1"
    values = _pix2pixhd_opt(opt, gpu_ids) if opt.engine == "pix2pixhd" else _spade_opt(opt, gpu_ids)
    # This project's extensions, recorded only when used so an official run's opt.txt stays official.
    if opt.lambda_l1:
        values["lambda_l1"] = opt.lambda_l1
    if opt.engine != "pix2pixhd" and opt.spade_hidden != 128:
        values["spade_hidden"] = opt.spade_hidden
    if opt.engine == "sean" and opt.zencoder_ngf != 32:
        values["zencoder_ngf"] = opt.zencoder_ngf
    return values


def _name_and_dir(opt: TrainOptions) -> tuple[str, str]:
    out = Path(opt.out)
    return out.name, str(out.parent)


def _spade_opt(opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
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


def _pix2pixhd_opt(opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
    name, checkpoints_dir = _name_and_dir(opt)
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
