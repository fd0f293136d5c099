"""SEAN's training forward (ZPdesu/SEAN ``SPADEGenerator.forward(input, rgb_img)``) on the inference modules.

:class:`TrainableSeanGenerator` subclasses the engine's :class:`~regionpaint.engines.sean.networks.SeanGenerator`, so
the parameters, buffers and state-dict keys are the engine's (= the official ones, spectral norm kept unfolded); only
``forward`` differs: the inference path renders one label with externally chosen codes, this one runs a batch with every
image's own Zencoder codes, as the official training does:

1. per-region codes: the Zencoder code map (B, L, H/2, W/2) averaged over each segmap channel (legacy-nearest
   resized), zeros for channels absent at that size;
2. every ACE: ``x + noise_var * randn`` -> BatchNorm (batch statistics in training) -> modulated by
   ``sigmoid(blend) * conv(style map) + (1 - sigmoid(blend)) * SPADE(seg)``, the style map holding
   ``relu(fc_mu_j(code_j))`` on the pixels of channel j (later channels win where channels overlap, like the
   official ``masked_scatter_`` loop).

Both per-region steps are computed with batched tensor ops instead of the official Python loops, and the
style convolutions ``conv_gamma``/``conv_beta`` never see the (B, style_length, h, w) style map: it is
piecewise constant (row ``index[p]`` of a per-image table at pixel p), so a 3x3 convolution of it is, per
pixel, the sum over the nine taps of ``(table @ W_tap^T)[index[p + tap]]`` -- nine rows looked up in small
per-tap tables (one ``embedding_bag``) instead of ``9 * style_length`` multiply-adds per output channel.
That was most of a training iteration's arithmetic (512 input channels at every resolution, forward and
backward). Gradients flow to the weights, biases, fc_mu layers and codes through the same lookups. All
of it gives the official values up to float summation order (``tests/test_train_sean_speed.py``
compares a training step against the official per-class loops).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from regionpaint.engines.layers.spade_norm import resize_segmap
from regionpaint.engines.sean.config import BLOCKS
from regionpaint.engines.sean.networks import ACE, SeanGenerator, SeanResnetBlock

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


class _TapTables(torch.autograd.Function):
    """taps[n, t, o] = sum_l table[n, l] * weight[o, l, t] for the nine taps t of a 3x3 kernel.

    A plain einsum would save a permuted copy of the kernel for its backward (2 x 19 MB for each of
    SEAN's widest ACEs: more than the official style maps); this saves the table and the parameter itself.
    table: (N, L); weight: (O, L, 3, 3) -> (N, 9, O).
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(table, weight)
        return torch.einsum("nl,olt->nto", table, weight.flatten(2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        table, weight = ctx.saved_tensors
        grad_table = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_table = torch.einsum("nto,olt->nl", grad, weight.flatten(2))
        if ctx.needs_input_grad[1]:
            grad_weight = torch.einsum("nto,nl->olt", grad, table).reshape(weight.shape)
        return grad_table, grad_weight


def style_table(ace: ACE, codes: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, channels + 1, L): row j + 1 = relu(fc_mu_j(code_j)), row 0 zeros (pixels of no channel).

    One small Linear per channel (what autograd saves is the code slice and the layer's own weight; a
    stacked weight would be a saved 19 x L x L copy per ACE)."""
    mu = [F.relu(F.linear(codes[:, j], *_weights(ace, j))) for j in range(channels)]
    return torch.stack([torch.zeros_like(mu[0]), *mu], dim=1)


def _weights(ace: ACE, j: int) -> tuple[torch.Tensor, torch.Tensor]:
    layer = getattr(ace, f"fc_mu{j}")
    return layer.weight, layer.bias


def style_convolutions(ace: ACE, codes: torch.Tensor, seg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(conv_gamma(style map), conv_beta(style map)), each (B, norm_nc, h, w), by per-tap table lookups.

    codes: (B, S, L); seg: (B, S, h, w) at the feature size. Same values as convolving :func:`style_map`
    (zero padding = the zero row 0 of the table), up to float summation order.
    """
    convs = (ace.conv_gamma, ace.conv_beta)
    if any(c.kernel_size != (3, 3) or c.padding != (1, 1) or c.stride != (1, 1) for c in convs):
        middle = style_map(ace, codes, seg)
        return ace.conv_gamma(middle), ace.conv_beta(middle)
    b, channels, h, w = seg.shape
    rows = channels + 1
    table = style_table(ace, codes, channels).reshape(b * rows, -1)  # (B * rows, L)
    # taps[(b, c), t] = table[b, c] @ W[:, :, t]^T: what tap t of a pixel of region c adds to each output.
    taps = torch.cat([_TapTables.apply(table, conv.weight) for conv in convs], dim=2).reshape(b * rows * 9, -1)
    index = F.pad(channel_index(seg), (1, 1, 1, 1))  # (B, h + 2, w + 2); 0 (the zero row) in the padding
    windows = torch.stack([index[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], dim=-1)
    first = (torch.arange(b, device=seg.device) * rows).view(b, 1, 1, 1)
    windows = (windows + first) * 9 + torch.arange(9, device=seg.device)  # row (b, c, t) of taps
    out = F.embedding_bag(windows.reshape(-1, 9), taps, mode="sum")  # (B*h*w, 2C)
    out = out + torch.cat([conv.bias for conv in convs])
    out = out.view(b, h, w, -1).permute(0, 3, 1, 2)
    c = ace.conv_gamma.out_channels
    return out[:, :c], out[:, c:]


def ace_forward(ace: ACE, x: torch.Tensor, seg: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """The official ACE training forward. x: (B, C, h, w); seg: (B, S, H, W); codes: (B, S, L)."""
    b, _, h, w = x.shape
    noise = (torch.randn(b, w, h, 1, device=x.device, dtype=x.dtype) * ace.noise_var).transpose(1, 3)
    normalized = ace.param_free_norm(x + noise)
    seg = resize_segmap(seg, (h, w))
    gamma_spade, beta_spade = ace.Spade.modulation(seg, (h, w))
    if not ace.use_rgb:
        return normalized * (1 + gamma_spade) + beta_spade
    gamma_style, beta_style = style_convolutions(ace, codes, seg)
    gamma_alpha, beta_alpha = torch.sigmoid(ace.blending_gamma), torch.sigmoid(ace.blending_beta)
    # The official alpha * style + (1 - alpha) * spade, written as spade + alpha * (style - spade): autograd
    # then keeps one map (the difference) per term instead of both (~150 MB less at full size).
    gamma = gamma_spade + gamma_alpha * (gamma_style - gamma_spade)
    beta = beta_spade + beta_alpha * (beta_style - beta_spade)
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
