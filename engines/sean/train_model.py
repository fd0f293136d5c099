"""SEAN training (ZPdesu/SEAN ``Pix2PixModel``): SPADE's objectives with G(semantics, real photo).

The style encoder lives inside G, so there is no E file and no KL term; everything else (hinge GAN, D feature
matching, VGG, TTUR with betas 0 / 0.9) is SPADE's. The discriminator is the SPADE one SEAN forked (every
middle conv stride 2, ``n_layers_D`` 3 by default).
"""

from __future__ import annotations

import torch
from torch import nn

from regionpaint.engines.sean.config import SeanConfig
from regionpaint.engines.sean.train_generator import TrainableSeanGenerator
from regionpaint.engines.spade.train_model import SpadeFamilyModel
from regionpaint.engines.training.discriminators import MultiscaleDiscriminator
from regionpaint.engines.training.model_base import Batch, Losses
from regionpaint.engines.training.options import TrainOptions
from regionpaint.engines.training.weight_init import spade_init

OFFICIAL_STYLE_CLASSES = 19  # fc_mu0..fc_mu18, hard-coded in the official ACE


def sean_config(opt: TrainOptions) -> SeanConfig:
    """The engine's config for these options. More than 19 segmap channels get one fc_mu each (the official
    code has 19 and fails on such data)."""
    norm_G = opt.norm_G
    spade = norm_G.replace("spectral", "")
    kind = spade[len("spade") : -3]
    return SeanConfig(
        ngf=opt.ngf,
        label_nc=int(opt.label_nc or 0),
        contain_dontcare_label=opt.contain_dontcare_label,
        use_instance=not opt.no_instance,
        style_length=opt.style_length,
        style_classes=max(OFFICIAL_STYLE_CLASSES, opt.semantic_nc),
        num_upsampling_layers=opt.num_upsampling_layers,
        spectral="spectral" in norm_G,
        spade_norm=kind,
        spade_kernel=int(spade[-1]),
        spade_hidden=opt.spade_hidden,
        zencoder_ngf=opt.zencoder_ngf,
        zencoder_mid=8 * opt.zencoder_ngf,  # the official 256 for its width 32
        crop_size=opt.crop_size,
        load_size=opt.load_size,
        aspect_ratio=opt.aspect_ratio,
        preprocess_mode=opt.preprocess_mode,
    )


def build_sean_networks(opt: TrainOptions) -> dict[str, nn.Module]:
    nets: dict[str, nn.Module] = {"G": TrainableSeanGenerator(sean_config(opt))}
    nets["D"] = MultiscaleDiscriminator(
        opt.semantic_nc + 3, opt.ndf, opt.n_layers_D, opt.num_D, opt.norm_D, last_stride_one=False
    )
    for net in nets.values():
        spade_init(net, opt.init_type, opt.init_variance)
    return nets


class SeanTrainingModel(SpadeFamilyModel):
    def __init__(self, opt: TrainOptions, device: torch.device, vgg: nn.Module | None) -> None:
        super().__init__(opt, device, vgg)
        self.nets = {role: net.to(device) for role, net in build_sean_networks(opt).items()}

    def generator_losses(self, batch: Batch) -> tuple[Losses, torch.Tensor]:
        fake = self.nets["G"](batch.semantics, batch.image)
        return self.generator_terms(batch, fake), fake

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor) -> Losses:
        with torch.no_grad():
            fake = self.nets["G"](batch.semantics, batch.image)
        return self.discriminator_terms(batch, fake)
