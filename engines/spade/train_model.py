"""SPADE training (NVlabs/SPADE ``Pix2PixModel``): hinge GAN, multi-scale feature matching, VGG, VAE KL.

Generator step (``compute_generator_loss``): [E: mu, logvar -> z = mu + eps * exp(logvar / 2), KLD * lambda_kld]
-> fake = G(semantics, z) -> D(cat([cat(seg, fake), cat(seg, real)], batch)) -> GAN (G hinge: -mean),
GAN_Feat (L1 of D features * lambda_feat / num_D), VGG (* lambda_vgg).
Discriminator step: fake regenerated without gradients by the just-updated G, then D_Fake + D_real.
:class:`SpadeFamilyModel` holds the terms SEAN (a SPADE fork) shares.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.spade.config import EncoderConfig, SpadeConfig
from regionpaint.engines.spade.networks import ConvEncoder, SPADEGenerator
from regionpaint.engines.training.discriminators import MultiscaleDiscriminator
from regionpaint.engines.training.losses import feature_matching, gan_loss, kld_loss
from regionpaint.engines.training.model_base import Batch, Losses, TrainingModel, discriminate_fake_and_real
from regionpaint.engines.training.options import TrainOptions
from regionpaint.engines.training.weight_init import spade_init

_DATASET_LABEL_SETS = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco-stuff": "coco-stuff"}


def spade_config(opt: TrainOptions) -> SpadeConfig:
    """The engine's config for these options (the same object the loader infers from the checkpoint)."""
    encoder = None
    if opt.use_vae:
        spectral = opt.norm_E.startswith("spectral")
        sub = opt.norm_E[len("spectral") :] if spectral else opt.norm_E
        encoder = EncoderConfig(ndf=opt.ngf, spectral=spectral, norm=sub or "none", has_layer6=opt.crop_size >= 256)
    return SpadeConfig(
        label_nc=int(opt.label_nc or 0),
        contain_dontcare_label=opt.contain_dontcare_label,
        no_instance=opt.no_instance,
        ngf=opt.ngf,
        num_upsampling_layers=opt.num_upsampling_layers,
        norm_G=opt.norm_G,
        use_vae=opt.use_vae,
        z_dim=opt.z_dim,
        crop_size=opt.crop_size,
        aspect_ratio=opt.aspect_ratio,
        preprocess_mode=opt.preprocess_mode,
        load_size=opt.load_size,
        label_set=_DATASET_LABEL_SETS.get(opt.layout),
        encoder=encoder,
        spade_hidden=opt.spade_hidden,
    )


def build_spade_networks(opt: TrainOptions, discriminator_last_stride_one: bool = True) -> dict[str, nn.Module]:
    """G (spectral norm unfolded, as trained), D and, with ``use_vae``, E; official keys, official init."""
    config = spade_config(opt)
    nets: dict[str, nn.Module] = {"G": SPADEGenerator(config, spectral_hooks=True)}
    nets["D"] = MultiscaleDiscriminator(
        opt.semantic_nc + 3, opt.ndf, opt.n_layers_D, opt.num_D, opt.norm_D, discriminator_last_stride_one
    )
    if opt.use_vae:
        nets["E"] = ConvEncoder(config.encoder, spectral_hooks=True)
    for net in nets.values():
        spade_init(net, opt.init_type, opt.init_variance)
    return nets


class SpadeFamilyModel(TrainingModel):
    """The objective SPADE and SEAN share once their generator has made ``fake`` (they differ in how)."""

    def learning_rates(self, lr: float) -> tuple[float, float]:
        """(G lr, D lr): TTUR halves G's and doubles D's unless ``no_TTUR``."""
        if self.opt.no_TTUR:
            return lr, lr
        return lr / 2, lr * 2

    def generator_terms(self, batch: Batch, fake: torch.Tensor) -> Losses:
        """SPADE/SEAN generator terms after the generator pass: hinge GAN, feature matching (``lambda_feat /
        num_D``), VGG (``lambda_vgg``) and, when asked for, this project's L1 photo term (``lambda_l1``)."""
        opt = self.opt
        pred_fake, pred_real = discriminate_fake_and_real(self.nets["D"], batch.semantics, fake, batch.image)
        losses: Losses = {"GAN": gan_loss(pred_fake, True, opt.gan_mode, for_discriminator=False)}
        if not opt.no_ganFeat_loss:
            losses["GAN_Feat"] = feature_matching(pred_fake, pred_real, opt.lambda_feat / len(pred_fake))
        if self.vgg_loss is not None and not opt.no_vgg_loss:
            losses["VGG"] = self.vgg_loss(fake, batch.image) * opt.lambda_vgg
        if opt.lambda_l1:
            losses["L1"] = F.l1_loss(fake, batch.image) * opt.lambda_l1
        return losses

    def discriminator_terms(self, batch: Batch, fake: torch.Tensor) -> Losses:
        """SPADE/SEAN discriminator hinge terms for a fake made without gradients (the official detach and
        ``requires_grad_``)."""
        fake = fake.detach().requires_grad_()
        pred_fake, pred_real = discriminate_fake_and_real(self.nets["D"], batch.semantics, fake, batch.image)
        return {
            "D_Fake": gan_loss(pred_fake, False, self.opt.gan_mode, for_discriminator=True),
            "D_real": gan_loss(pred_real, True, self.opt.gan_mode, for_discriminator=True),
        }


class SpadeTrainingModel(SpadeFamilyModel):
    generator_roles = ("G", "E")

    def __init__(self, opt: TrainOptions, device: torch.device, vgg: nn.Module | None) -> None:
        super().__init__(opt, device, vgg)
        self.nets = {role: net.to(device) for role, net in build_spade_networks(opt).items()}

    def generate(self, batch: Batch, with_kld: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """fake (B, 3, H, W) and, for a VAE with ``with_kld``, the weighted KL term."""
        z, kld = None, None
        if self.opt.use_vae:
            mu, logvar = self.nets["E"](batch.image)
            std = torch.exp(0.5 * logvar)
            z = torch.randn_like(std) * std + mu
            if with_kld:
                kld = kld_loss(mu, logvar) * self.opt.lambda_kld
        return self.nets["G"](batch.semantics, z=z), kld

    def generator_losses(self, batch: Batch) -> tuple[Losses, torch.Tensor]:
        opt = self.opt
        losses: Losses = {}
        fake, kld = self.generate(batch, with_kld=opt.use_vae)
        if kld is not None:
            losses["KLD"] = kld
        losses.update(self.generator_terms(batch, fake))
        return losses, fake

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor) -> Losses:
        with torch.no_grad():
            fake, _ = self.generate(batch)
        return self.discriminator_terms(batch, fake)
