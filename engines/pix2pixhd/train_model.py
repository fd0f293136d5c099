"""pix2pixHD training (NVIDIA/pix2pixHD ``Pix2PixHDModel``): LSGAN, multi-scale feature matching, VGG.

The official forward computes every loss from one pass, then steps G and D:

* input = one-hot labels [+ instance edges] [+ encoder features E(real, instances) averaged per instance];
* G_GAN = sum over scales of MSE(D(cat(input_label, fake)), 1);
* G_GAN_Feat = sum of L1(D features of fake, of real) * 4/(n_layers_D+1) * 1/num_D * lambda_feat;
* G_VGG = VGG loss * lambda_feat (the official weighs VGG with lambda_feat, not a lambda_vgg);
* D = 0.5 * (MSE(D(pool(fake)), 0) + MSE(D(real), 1)), fake from before the G update.

Here the generator and discriminator objectives are two passes (one D forward each, which DDP needs); the
numbers are the official ones: the D pass reuses the generator pass's fake, and D has not changed between
them. Fake and real go through D in one batch, which is identical with the default instance norm.
``niter_fix_global``: while it lasts only ``model<n_local_enhancers>_*`` (the outermost local enhancer)
and the encoder are optimised.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.pix2pixhd.architecture import EncoderArch, GeneratorArch
from regionpaint.engines.pix2pixhd.networks import build_encoder, build_generator
from regionpaint.engines.pix2pixhd.training import uses_features
from regionpaint.engines.training.discriminators import Pix2PixHDDiscriminator
from regionpaint.engines.training.losses import ImagePool, feature_matching, gan_loss
from regionpaint.engines.training.model_base import Batch, Losses, TrainingModel, split_predictions
from regionpaint.engines.training.options import TrainOptions
from regionpaint.engines.training.weight_init import pix2pixhd_init


def generator_arch(opt: TrainOptions) -> GeneratorArch:
    local = opt.netG == "local"
    return GeneratorArch(
        netG=opt.netG,
        input_nc=opt.label_channels + int(not opt.no_instance) + (opt.feat_num if uses_features(opt) else 0),
        ngf=opt.ngf,
        n_downsample_global=opt.n_downsample_global,
        n_blocks_global=opt.n_blocks_global,
        n_local_enhancers=opt.n_local_enhancers if local else 0,
        n_blocks_local=opt.n_blocks_local if local else 0,
        norm=opt.norm,
    )


def encoder_arch(opt: TrainOptions) -> EncoderArch:
    return EncoderArch(input_nc=3, feat_num=opt.feat_num, nef=opt.nef, n_downsample_E=opt.n_downsample_E, norm=opt.norm)


def build_pix2pixhd_networks(opt: TrainOptions) -> dict[str, nn.Module]:
    nets: dict[str, nn.Module] = {"G": build_generator(generator_arch(opt))}
    d_input = opt.label_channels + int(not opt.no_instance) + 3
    nets["D"] = Pix2PixHDDiscriminator(d_input, opt.ndf, opt.n_layers_D, opt.num_D, opt.norm, not opt.no_ganFeat_loss)
    if uses_features(opt):
        nets["E"] = build_encoder(encoder_arch(opt))
    for net in nets.values():
        pix2pixhd_init(net)
    return nets


class Pix2PixHDTrainingModel(TrainingModel):
    generator_roles = ("G", "E")

    def __init__(self, opt: TrainOptions, device: torch.device, vgg: nn.Module | None) -> None:
        super().__init__(opt, device, vgg)
        self.nets = {role: net.to(device) for role, net in build_pix2pixhd_networks(opt).items()}
        self.pool = ImagePool(opt.pool_size, seed=opt.seed)

    def learning_rates(self, lr: float) -> tuple[float, float]:
        return lr, lr  # no TTUR in pix2pixHD

    def generator_parameters(self, which: str = "all") -> list[nn.Parameter]:
        if which == "all":
            return super().generator_parameters()
        prefix = f"model{self.opt.n_local_enhancers}"
        params = [p for name, p in self.module("G").named_parameters() if name.startswith(prefix)]
        if "E" in self.nets:
            params += list(self.module("E").parameters())
        return params

    def generator_input(self, batch: Batch) -> torch.Tensor:
        if not uses_features(self.opt):
            return batch.semantics
        ids = batch.label if self.opt.label_feat else batch.instance
        return torch.cat([batch.semantics, self.nets["E"](batch.image, ids)], dim=1)

    def generator_losses(self, batch: Batch) -> tuple[Losses, torch.Tensor]:
        opt = self.opt
        fake = self.nets["G"](self.generator_input(batch))
        both = torch.cat(
            [torch.cat([batch.semantics, fake], dim=1), torch.cat([batch.semantics, batch.image], dim=1)], dim=0
        )
        pred_fake, pred_real = split_predictions(self.nets["D"](both))
        losses: Losses = {"G_GAN": gan_loss(pred_fake, True, opt.gan_mode, reduction="sum")}
        if not opt.no_ganFeat_loss:
            weight = opt.lambda_feat * (4.0 / (opt.n_layers_D + 1)) / opt.num_D
            losses["G_GAN_Feat"] = feature_matching(pred_fake, pred_real, weight)
        if self.vgg_loss is not None and not opt.no_vgg_loss:
            losses["G_VGG"] = self.vgg_loss(fake, batch.image) * opt.lambda_feat
        if opt.lambda_l1:
            losses["G_L1"] = F.l1_loss(fake, batch.image) * opt.lambda_l1
        return losses, fake

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor | None) -> Losses:
        if fake is None:  # no generator step this iteration (D_steps_per_G > 1)
            with torch.no_grad():
                fake = self.nets["G"](self.generator_input(batch))
        fake_query = self.pool.query(torch.cat([batch.semantics, fake.detach()], dim=1))
        both = torch.cat([fake_query, torch.cat([batch.semantics, batch.image], dim=1)], dim=0)
        pred_fake, pred_real = split_predictions(self.nets["D"](both))
        return {
            "D_real": gan_loss(pred_real, True, self.opt.gan_mode, reduction="sum"),
            "D_fake": gan_loss(pred_fake, False, self.opt.gan_mode, reduction="sum"),
        }

    def discriminator_total(self, losses: Losses) -> torch.Tensor:
        return (losses["D_fake"] + losses["D_real"]) * 0.5
