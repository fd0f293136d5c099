"""SEAN's training forward (ZPdesu/SEAN ``SPADEGenerator.forward(input, rgb_img)``) on the inference modules.

:class:`TrainableSeanGenerator` subclasses the engine's :class:`~engines.sean.networks.SeanGenerator`, so the
parameters, buffers and state-dict keys are the engine's (= the official ones, spectral norm kept unfolded);
only ``forward`` differs: the inference path renders one label with externally chosen codes, this one runs a
batch with every image's own Zencoder codes, as the official training does:

1. per-region codes: the Zencoder code map (B, L, H/2, W/2) averaged over each segmap channel (legacy-nearest
   resized), zeros for channels absent at that size;
2. every ACE: ``x + noise_var * randn`` -> BatchNorm (batch statistics in training) -> modulated by
   ``sigmoid(blend) * conv(style map) + (1 - sigmoid(blend)) * SPADE(seg)``, the style map holding
   ``relu(fc_mu_j(code_j))`` on the pixels of channel j (later channels win where channels overlap, like the
   official ``masked_scatter_`` loop).

Both per-region steps are computed with batched tensor ops instead of the official Python loops; they give
the same values up to float summation order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engines.common.spade_layers import resize_segmap
from engines.sean.config import BLOCKS
from engines.sean.networks import ACE, SeanGenerator, SeanResnetBlock

LEAKY = 0.2


def region_codes(code_map: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    """Mean code per segmap channel. code_map: (B, L, h, w); seg: (B, C, H, W) -> (B, C, L), 0 where absent."""
    mask = resize_segmap(seg, code_map.shape[-2:]).bool().to(code_map.dtype)
    sums = torch.einsum("blhw,bchw->bcl", code_map, mask)
    area = mask.sum(dim=(2, 3)).clamp(min=1)
    return sums / area.unsqueeze(-1)


def channel_index(seg: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) 0/1 segmap -> (B, h, w) int64: 1 + the last set channel, 0 where none is set."""
    channels = torch.arange(1, seg.shape[1] + 1, device=seg.device, dtype=seg.dtype).view(1, -1, 1, 1)
    return (seg.bool().to(seg.dtype) * channels).amax(dim=1).long()


def style_map(ace: ACE, codes: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    """(B, L, h, w): ``relu(fc_mu_j(code_j))`` broadcast over the pixels of channel j. codes: (B, C, L)."""
    channels = seg.shape[1]
    weight = torch.stack([getattr(ace, f"fc_mu{j}").weight for j in range(channels)])  # (C, L, L)
    bias = torch.stack([getattr(ace, f"fc_mu{j}").bias for j in range(channels)])  # (C, L)
    mu = F.relu(torch.einsum("bcl,cml->bcm", codes[:, :channels], weight) + bias)
    table = torch.cat([mu.new_zeros(mu.shape[0], 1, mu.shape[2]), mu], dim=1)  # row 0: no channel
    index = channel_index(seg)
    batch = torch.arange(mu.shape[0], device=mu.device).view(-1, 1, 1)
    return table[batch, index].permute(0, 3, 1, 2)


def ace_forward(ace: ACE, x: torch.Tensor, seg: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """The official ACE training forward. x: (B, C, h, w); seg: (B, S, H, W); codes: (B, S, L)."""
    b, _, h, w = x.shape
    noise = (torch.randn(b, w, h, 1, device=x.device, dtype=x.dtype) * ace.noise_var).transpose(1, 3)
    normalized = ace.param_free_norm(x + noise)
    seg = resize_segmap(seg, (h, w))
    gamma_spade, beta_spade = ace.Spade.modulation(seg, (h, w))
    if not ace.use_rgb:
        return normalized * (1 + gamma_spade) + beta_spade
    middle = style_map(ace, codes, seg)
    gamma_alpha, beta_alpha = torch.sigmoid(ace.blending_gamma), torch.sigmoid(ace.blending_beta)
    gamma = gamma_alpha * ace.conv_gamma(middle) + (1 - gamma_alpha) * gamma_spade
    beta = beta_alpha * ace.conv_beta(middle) + (1 - beta_alpha) * beta_spade
    return normalized * (1 + gamma) + beta


def block_forward(block: SeanResnetBlock, x: torch.Tensor, seg: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    # Shortcut ACE first: the official call order (it matters for the noise draws).
    x_s = block.conv_s(ace_forward(block.ace_s, x, seg, codes)) if block.learned_shortcut else x
    dx = block.conv_0(F.leaky_relu(ace_forward(block.ace_0, x, seg, codes), LEAKY))
    dx = block.conv_1(F.leaky_relu(ace_forward(block.ace_1, dx, seg, codes), LEAKY))
    return x_s + dx


def upsamples_before(block: str, num_upsampling_layers: str) -> bool:
    """Nearest x2 before every block but head_0; before G_middle_1 only for 'more' (official forward)."""
    if block == "head_0":
        return False
    if block == "G_middle_1":
        return num_upsampling_layers in ("more", "most")
    return True


class TrainableSeanGenerator(SeanGenerator):
    """SEAN generator with the official batched training forward (keys identical to the engine's)."""

    def forward(self, seg: torch.Tensor, image: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """seg: (B, semantic_nc, H, W) one-hot (+ edge); image: (B, 3, H, W) in [-1, 1] -> (B, 3, H, W)."""
        codes = region_codes(self.Zencoder(image), seg)
        sw, sh = self.config.latent_size
        x = self.fc(resize_segmap(seg, (sh, sw)))
        for name in BLOCKS:
            if upsamples_before(name, self.config.num_upsampling_layers):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = block_forward(getattr(self, name), x, seg, codes)
        return torch.tanh(self.conv_img(F.leaky_relu(x, LEAKY)))
