"""SEAN's training declarations (torch-free): SPADE's option set plus the style encoder's, SEAN's defaults,
checks and ``opt.txt``, and the per-class mean style codes written after a run.

After training, every training photo is encoded by the trained generator's style encoder (through the
SEAN engine, so the codes are exactly those a render computes) and the per-class mean and spread are saved
beside the checkpoint (:data:`regionpaint.engines.sean.mean_codes.MEAN_CODES_FILE`), as the official
``calculate_mean_style_code.py`` step does; the SEAN engine loads them with the checkpoint, so the run
renders with ``@mean`` styles without a style photo.
"""

from __future__ import annotations

from typing import Any

from regionpaint.engines.schema import Option
from regionpaint.engines.spade.training import (
    SPADE_FAMILY_ARCHITECTURE,
    SPADE_FAMILY_OPTIONS,
    SPADE_FAMILY_PRESETS,
    SpadeTrainer,
    check_latent_grid,
    spade_family_opt,
)
from regionpaint.engines.training.options import OptionError, TrainOptions

SEAN_OPTIONS: tuple[Option, ...] = (
    *(option for option in SPADE_FAMILY_OPTIONS if option.name != "use_vae"),
    Option(
        "zencoder_ngf",
        "int",
        32,
        "style encoder width (official: 32)",
        minimum=1,
        advanced=True,
        label="Style encoder width (zencoder_ngf)",
    ),
    Option(
        "style_length",
        "int",
        512,
        "style code length (official: 512)",
        minimum=1,
        maximum=1024,
        advanced=True,
        label="Style code length",
    ),
)


class SeanTrainer(SpadeTrainer):
    engine = "sean"
    display_name = "SEAN"
    options = SEAN_OPTIONS
    # ZPdesu/SEAN forked NVlabs/SPADE before its discriminator got 4 layers; niter_decay 50 in its opt.txt.
    defaults = {"n_layers_D": 3, "niter_decay": 50, "lambda_kld": 0.005}
    presets = SPADE_FAMILY_PRESETS
    refused = {"use_vae": "SEAN has no VAE (its style encoder is part of the generator)"}
    architecture_options = (*(k for k in SPADE_FAMILY_ARCHITECTURE if k != "use_vae"), "style_length")

    @classmethod
    def check(cls, opt: TrainOptions) -> None:
        check_latent_grid(opt, batch_norm=True)  # SEAN's ACEs are always sync-batch
        if opt.num_upsampling_layers == "most":
            raise OptionError("--num_upsampling_layers most: the official SEAN forward cannot run it")
        if opt.gan_mode not in ("hinge", "ls", "original", "w"):
            raise OptionError(f"--gan_mode {opt.gan_mode!r}: expected hinge, ls, original or w")

    @classmethod
    def betas(cls, opt: TrainOptions) -> tuple[float, float]:
        if not opt.no_TTUR:
            return 0.0, 0.9  # the official SEAN create_optimizers ignores --beta1/--beta2 under TTUR
        return super().betas(opt)

    @classmethod
    def official_opt(cls, opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
        values = spade_family_opt(opt, gpu_ids)
        values["status"] = "train"
        values["style_length"] = opt.style_length  # not an official flag (hard-coded 512 there)
        if opt.zencoder_ngf != 32:
            values["zencoder_ngf"] = opt.zencoder_ngf
        return values

    @classmethod
    def build_model(cls, opt: TrainOptions, device: Any, vgg: Any):
        from regionpaint.engines.sean.train_model import SeanTrainingModel

        return SeanTrainingModel(opt, device, vgg)

    @classmethod
    def after_training(cls, trainer) -> None:
        from regionpaint.engines.sean.mean_codes import write_mean_codes

        path, classes = write_mean_codes(trainer.run_dir.path, trainer.training_samples(), str(trainer.device))
        trainer.emit("features", path=str(path), classes=classes)
