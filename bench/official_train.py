"""The OLD training iteration for side-by-side timing: the official trainers' step on the same modules.

regionpaint's training networks keep the official module structure and state-dict keys (spectral norm
hooks with their power iteration, batch norm with batch statistics), so the old iteration runs on the very
modules :func:`engines.*.train_model` builds, with the official code's forwards and step order:

* SEAN (ZPdesu/SEAN ``generator.py``, ``architecture.py``, ``normalization.py``, ``pix2pix_model.py``):
  the Zencoder's per-image, per-class ``masked_select`` means, every ACE's per-image, per-class
  ``fc_mu<j>`` call scattered into a zero style map with ``masked_scatter_``, full convolutions for
  ``conv_gamma``/``conv_beta`` and the SPADE branch; noise drawn from the global RNG as (B, W, H, 1).
* SPADE (NVlabs/SPADE): the generator module as it is (its training forward is the official one), with
  the exact structural shortcut switched off so the discriminator step's no-grad regeneration runs the
  plain convolutions as the official code does.
* pix2pixHD (NVIDIA/pix2pixHD ``Pix2PixHDModel.forward``): one generator pass, three discriminator passes
  (detached fake, real, fake), then G and D steps.

Losses are the official ones (hinge/LSGAN, feature matching, VGG19 perceptual); the discriminators are
the engines' ports of the official ``MultiscaleDiscriminator`` / ``NLayerDiscriminator``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from regionpaint.engines.training.losses import feature_matching, gan_loss
from regionpaint.engines.training.model_base import Batch, split_predictions

LEAKY = 0.2


# ---------------------------------------------------------------------------------------------- SEAN
def official_zencoder(zencoder, image: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
    """ZPdesu/SEAN ``Zencoder.forward``: (B, C, L) region means by a per-image, per-class loop."""
    codes = zencoder.model(image)
    segmap = F.interpolate(segmap, size=codes.size()[2:], mode="nearest")
    b_size, f_size, s_size = codes.shape[0], codes.shape[1], segmap.shape[1]
    codes_vector = torch.zeros((b_size, s_size, f_size), dtype=codes.dtype, device=codes.device)
    for i in range(b_size):
        for j in range(s_size):
            component_mask_area = torch.sum(segmap.bool()[i, j])
            if component_mask_area > 0:
                feature = codes[i].masked_select(segmap.bool()[i, j]).reshape(f_size, component_mask_area).mean(1)
                codes_vector[i][j] = feature
    return codes_vector


def official_spade_branch(spade, segmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    actv = spade.mlp_shared(segmap)
    return spade.mlp_gamma(actv), spade.mlp_beta(actv)


def official_ace(ace, x: torch.Tensor, segmap: torch.Tensor, style_codes: torch.Tensor) -> torch.Tensor:
    """ZPdesu/SEAN ``ACE.forward`` (training status)."""
    added_noise = (torch.randn(x.shape[0], x.shape[3], x.shape[2], 1, device=x.device) * ace.noise_var).transpose(1, 3)
    normalized = ace.param_free_norm(x + added_noise)
    segmap = F.interpolate(segmap, size=x.size()[2:], mode="nearest")
    if not ace.use_rgb:
        gamma_spade, beta_spade = official_spade_branch(ace.Spade, segmap)
        return normalized * (1 + gamma_spade) + beta_spade
    b_size, _, h_size, w_size = normalized.shape
    middle_avg = torch.zeros((b_size, ace.style_length, h_size, w_size), device=normalized.device)
    for i in range(b_size):
        for j in range(segmap.shape[1]):
            component_mask_area = torch.sum(segmap.bool()[i, j])
            if component_mask_area > 0:
                middle_mu = F.relu(getattr(ace, f"fc_mu{j}")(style_codes[i][j]))
                component_mu = middle_mu.reshape(ace.style_length, 1).expand(ace.style_length, component_mask_area)
                middle_avg[i].masked_scatter_(segmap.bool()[i, j], component_mu)
    gamma_avg, beta_avg = ace.conv_gamma(middle_avg), ace.conv_beta(middle_avg)
    gamma_spade, beta_spade = official_spade_branch(ace.Spade, segmap)
    gamma_alpha, beta_alpha = torch.sigmoid(ace.blending_gamma), torch.sigmoid(ace.blending_beta)
    gamma_final = gamma_alpha * gamma_avg + (1 - gamma_alpha) * gamma_spade
    beta_final = beta_alpha * beta_avg + (1 - beta_alpha) * beta_spade
    return normalized * (1 + gamma_final) + beta_final


def official_sean_block(block, x: torch.Tensor, seg: torch.Tensor, style_codes: torch.Tensor) -> torch.Tensor:
    x_s = block.conv_s(official_ace(block.ace_s, x, seg, style_codes)) if block.learned_shortcut else x
    dx = block.conv_0(F.leaky_relu(official_ace(block.ace_0, x, seg, style_codes), LEAKY))
    dx = block.conv_1(F.leaky_relu(official_ace(block.ace_1, dx, seg, style_codes), LEAKY))
    return x_s + dx


def official_sean_generator(generator, seg: torch.Tensor, rgb_img: torch.Tensor) -> torch.Tensor:
    """ZPdesu/SEAN ``SPADEGenerator.forward(input, rgb_img)`` over the engine's trainable generator."""
    sw, sh = generator.config.latent_size
    up = lambda t: F.interpolate(t, scale_factor=2)  # noqa: E731
    x = generator.fc(F.interpolate(seg, size=(sh, sw)))
    style_codes = official_zencoder(generator.Zencoder, rgb_img, seg)
    x = up(official_sean_block(generator.head_0, x, seg, style_codes))
    x = official_sean_block(generator.G_middle_0, x, seg, style_codes)
    if generator.config.num_upsampling_layers in ("more", "most"):
        x = up(x)
    x = official_sean_block(generator.G_middle_1, x, seg, style_codes)
    for name in ("up_0", "up_1", "up_2", "up_3"):
        x = official_sean_block(getattr(generator, name), up(x), seg, style_codes)
    return torch.tanh(generator.conv_img(F.leaky_relu(x, LEAKY)))


# ------------------------------------------------------------------------------- SPADE-family step
def _discriminate(d, semantics, fake, real):
    fake_and_real = torch.cat([torch.cat([semantics, fake], dim=1), torch.cat([semantics, real], dim=1)], dim=0)
    return split_predictions(d(fake_and_real))


def spade_family_step(generate: Callable[[Batch], torch.Tensor], nets, optimizers, vgg_loss, opt, batch) -> dict:
    """NVlabs/SPADE ``Pix2PixTrainer``: run_generator_one_step then run_discriminator_one_step."""
    d = nets["D"]
    optimizers["G"].zero_grad()
    fake = generate(batch)
    pred_fake, pred_real = _discriminate(d, batch.semantics, fake, batch.image)
    g_losses = {"GAN": gan_loss(pred_fake, True, opt.gan_mode, for_discriminator=False)}
    g_losses["GAN_Feat"] = feature_matching(pred_fake, pred_real, opt.lambda_feat / len(pred_fake))
    if vgg_loss is not None:
        g_losses["VGG"] = vgg_loss(fake, batch.image) * opt.lambda_vgg
    sum(g_losses.values()).mean().backward()
    optimizers["G"].step()

    optimizers["D"].zero_grad()
    with torch.no_grad():
        fake = generate(batch)
        fake = fake.detach()
        fake.requires_grad_()
    pred_fake, pred_real = _discriminate(d, batch.semantics, fake, batch.image)
    d_losses = {
        "D_Fake": gan_loss(pred_fake, False, opt.gan_mode, for_discriminator=True),
        "D_real": gan_loss(pred_real, True, opt.gan_mode, for_discriminator=True),
    }
    sum(d_losses.values()).mean().backward()
    optimizers["D"].step()
    return {**g_losses, **d_losses}


# ------------------------------------------------------------------------------------------ pix2pixHD
def pix2pixhd_step(nets, optimizers, vgg_loss, opt, batch) -> dict:
    """NVIDIA/pix2pixHD ``Pix2PixHDModel.forward`` (no feature encoder) and ``train.py``'s two steps."""
    g, d = nets["G"], nets["D"]
    fake = g(batch.semantics)
    pred_fake_pool = d(torch.cat([batch.semantics, fake.detach()], dim=1))  # pool_size 0: the fake itself
    loss_d_fake = gan_loss(pred_fake_pool, False, opt.gan_mode, reduction="sum")
    pred_real = d(torch.cat([batch.semantics, batch.image], dim=1))
    loss_d_real = gan_loss(pred_real, True, opt.gan_mode, reduction="sum")
    pred_fake = d(torch.cat([batch.semantics, fake], dim=1))
    loss_g_gan = gan_loss(pred_fake, True, opt.gan_mode, reduction="sum")
    weight = opt.lambda_feat * (4.0 / (opt.n_layers_D + 1)) / opt.num_D
    loss_g_feat = feature_matching(pred_fake, pred_real, weight)
    loss_g_vgg = vgg_loss(fake, batch.image) * opt.lambda_feat if vgg_loss is not None else 0
    loss_d = (loss_d_fake + loss_d_real) * 0.5
    loss_g = loss_g_gan + loss_g_feat + loss_g_vgg
    optimizers["G"].zero_grad()
    loss_g.backward()
    optimizers["G"].step()
    optimizers["D"].zero_grad()
    loss_d.backward()
    optimizers["D"].step()
    return {"G_GAN": loss_g_gan, "G_GAN_Feat": loss_g_feat, "D_fake": loss_d_fake, "D_real": loss_d_real}
