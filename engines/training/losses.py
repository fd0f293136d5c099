"""The official training objectives (NVlabs/SPADE ``models/networks/loss.py``, pix2pixHD ``networks.py``).

Discriminator outputs are lists (one per scale) of lists (one tensor per layer group, the prediction last).

* SPADE/SEAN ``GANLoss``: per scale the loss of the prediction, then the mean over scales. hinge:
  D ``mean(relu(1 - real))`` / ``mean(relu(1 + fake))``, G ``-mean(fake)``; ls: MSE to 1/0; original:
  BCE on logits; w: -/+ mean.
* pix2pixHD ``GANLoss``: the SUM over scales of MSE (LSGAN) or BCE.
* Feature matching: L1 between fake and (detached) real intermediate D features, every layer but the last,
  times ``lambda_feat / num_D`` (pix2pixHD also times ``4 / (n_layers_D + 1)``).
* VGG: ``sum_i w_i * L1(vgg_i(fake), vgg_i(real).detach())``, w = 1/32, 1/16, 1/8, 1/4, 1.
* KLD (SPADE VAE): ``-0.5 * sum(1 + logvar - mu^2 - exp(logvar))`` (summed over the batch, as official).
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

VGG_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)

Predictions = list[list[torch.Tensor]]


def _single(pred: torch.Tensor, target_is_real: bool, mode: str, for_discriminator: bool) -> torch.Tensor:
    if mode == "hinge":
        if not for_discriminator:
            if not target_is_real:
                raise ValueError("the generator's hinge loss must aim for real")
            return -pred.mean()
        return F.relu(1 - pred).mean() if target_is_real else F.relu(1 + pred).mean()
    if mode == "ls":
        return F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))
    if mode == "original":
        return F.binary_cross_entropy_with_logits(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))
    if mode == "w":
        return -pred.mean() if target_is_real else pred.mean()
    raise ValueError(f"unexpected gan_mode {mode!r}")


def gan_loss(
    preds: Predictions, target_is_real: bool, mode: str, for_discriminator: bool = True, reduction: str = "mean"
) -> torch.Tensor:
    """GAN loss over every scale's final prediction: ``mean`` over scales (SPADE) or ``sum`` (pix2pixHD)."""
    losses = [_single(scale[-1], target_is_real, mode, for_discriminator) for scale in preds]
    total = torch.stack(losses).sum()
    return total / len(losses) if reduction == "mean" else total


def feature_matching(fake: Predictions, real: Predictions, weight: float) -> torch.Tensor:
    """``weight * sum over scales and layers (but the last) of L1(fake, real.detach())``."""
    total = fake[0][0].new_zeros(())
    for fake_scale, real_scale in zip(fake, real, strict=True):
        for fake_feat, real_feat in zip(fake_scale[:-1], real_scale[:-1], strict=True):
            total = total + F.l1_loss(fake_feat, real_feat.detach()) * weight
    return total


def kld_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) summed over batch and dimensions. mu, logvar: (B, z_dim)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


class VGGLoss(nn.Module):
    """Perceptual loss on the five VGG19 relu{1..5}_1 features. Images (B, 3, H, W) in [-1, 1], fed to VGG
    as they are (the official code does not apply the ImageNet normalisation)."""

    def __init__(self, vgg: nn.Module) -> None:
        super().__init__()
        self.vgg = vgg

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        fake_feats, real_feats = self.vgg(fake), self.vgg(real)
        total = fake.new_zeros(())
        for weight, fake_feat, real_feat in zip(VGG_LAYER_WEIGHTS, fake_feats, real_feats, strict=True):
            total = total + weight * F.l1_loss(fake_feat, real_feat.detach())
        return total


class ImagePool:
    """pix2pixHD's history of generated inputs (``--pool_size``): half the time D sees an older fake.

    ``query(images)`` returns a batch of the same shape; 0 disables the pool (the official default).
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                index = self.rng.randint(0, self.size - 1)
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.cat(out, 0)
