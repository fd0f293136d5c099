"""pix2pixHD networks with the official module layout, so official state dicts load key for key.

All three networks are ``nn.Sequential`` stacks whose indices are the state-dict keys (``model.1``,
``model.16.conv_block.1``, ``model1_2.7``, ...). Normalisation is ``InstanceNorm2d(affine=False)``
(no keys) for the default ``--norm instance``; ``--norm batch`` gives ``BatchNorm2d(affine=True)``
layers that, like the official test (which never calls ``model.eval()``), normalise with the batch's
own statistics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.acceleration.winograd import ConvRunner
from regionpaint.engines.pix2pixhd.architecture import EncoderArch, GeneratorArch


class BatchStatNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that always uses the current batch's statistics and never updates its buffers.

    The official test script leaves the networks in training mode; with ``--norm batch`` that means
    batch statistics. The running buffers are kept only so the official keys load.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "batch":
        return BatchStatNorm2d(channels, affine=True)
    raise ValueError(f"unknown pix2pixHD norm {kind!r} (expected instance or batch)")


class ResnetBlock(nn.Module):
    """``x + conv_block(x)``; conv_block = [RefPad1, Conv3x3, norm, ReLU, RefPad1, Conv3x3, norm]."""

    def __init__(self, dim: int, norm: str = "instance") -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3),
            norm_layer(norm, dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3),
            norm_layer(norm, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def run_layers(
    layers: nn.Sequential, x: torch.Tensor, conv: ConvRunner | None = None, head: torch.Tensor | None = None
) -> torch.Tensor:
    """``layers(x)``, with every plain ``nn.Conv2d`` and ``nn.ConvTranspose2d`` (residual blocks' too) called as
    ``conv(layer, x)``.

    head: the value of the first two layers (reflection pad, convolution) on ``x``, computed by the
    caller (``regionpaint.engines.acceleration.onehot_conv``: a lookup for one-hot labels); the rest runs from it.
    """
    if head is not None:
        x, layers = head, layers[2:]
    if conv is None:
        return layers(x)
    for layer in layers:
        if isinstance(layer, ResnetBlock):
            x = x + run_layers(layer.conv_block, x, conv)
        elif type(layer) in (nn.Conv2d, nn.ConvTranspose2d):
            x = conv(layer, x)
        else:
            x = layer(x)
    return x


def input_head(generator: nn.Module) -> nn.Conv2d:
    """The convolution that reads the full-resolution input (after a reflection pad): ``head`` replaces it."""
    if isinstance(generator, LocalEnhancer):
        layers = getattr(generator, f"model{generator.n_local_enhancers}_1")
    else:
        layers = generator.model
    pad, conv = layers[0], layers[1]
    if not isinstance(pad, nn.ReflectionPad2d) or type(conv) is not nn.Conv2d:
        raise TypeError(f"unexpected pix2pixHD head: {pad}, {conv}")
    return conv


def _head(in_nc: int, ngf: int, norm: str) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_nc, ngf, kernel_size=7), norm_layer(norm, ngf), nn.ReLU(True)]


def _down(ngf: int, n: int, norm: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(n):
        ch = ngf * 2**i
        layers += [
            nn.Conv2d(ch, ch * 2, kernel_size=3, stride=2, padding=1),
            norm_layer(norm, ch * 2),
            nn.ReLU(True),
        ]
    return layers


def _up(ngf: int, n: int, norm: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(n):
        ch = ngf * 2 ** (n - i)
        layers += [
            nn.ConvTranspose2d(ch, ch // 2, kernel_size=3, stride=2, padding=1, output_padding=1),
            norm_layer(norm, ch // 2),
            nn.ReLU(True),
        ]
    return layers


def _tail(ngf: int, out_nc: int, last: nn.Module) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_nc, kernel_size=7), last]


def global_layers(
    input_nc: int, output_nc: int, ngf: int, n_downsampling: int, n_blocks: int, norm: str
) -> list[nn.Module]:
    """The official GlobalGenerator's Sequential, as a list (LocalEnhancer drops its last 3 layers)."""
    blocks = [ResnetBlock(ngf * 2**n_downsampling, norm) for _ in range(n_blocks)]
    return (
        _head(input_nc, ngf, norm)
        + _down(ngf, n_downsampling, norm)
        + blocks
        + _up(ngf, n_downsampling, norm)
        + _tail(ngf, output_nc, nn.Tanh())
    )


class GlobalGenerator(nn.Module):
    """(B, input_nc, H, W) float -> (B, output_nc, H', W') in [-1, 1]; H' = H when H % 2**n_down == 0."""

    def __init__(
        self,
        input_nc: int,
        output_nc: int = 3,
        ngf: int = 64,
        n_downsampling: int = 4,
        n_blocks: int = 9,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        self.model = nn.Sequential(*global_layers(input_nc, output_nc, ngf, n_downsampling, n_blocks, norm))

    def forward(
        self, x: torch.Tensor, conv: ConvRunner | None = None, head: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``conv`` and ``head`` as in :func:`run_layers` (``head``: of :func:`input_head` on ``x``)."""
        return run_layers(self.model, x, conv, head)


class LocalEnhancer(nn.Module):
    """Coarse-to-fine generator: ``model`` (global, ngf * 2**L) at 1/2**L, then L enhancers ``model{n}_1/_2``.

    forward: pyramid of the input by AvgPool2d(3, 2, 1, count_include_pad=False);
    ``out = model(coarsest)``; for n = 1..L: ``out = model{n}_2(model{n}_1(level L-n) + out)``.
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int = 3,
        ngf: int = 32,
        n_downsample_global: int = 3,
        n_blocks_global: int = 9,
        n_local_enhancers: int = 1,
        n_blocks_local: int = 3,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        self.n_local_enhancers = n_local_enhancers
        ngf_global = ngf * 2**n_local_enhancers
        layers = global_layers(input_nc, output_nc, ngf_global, n_downsample_global, n_blocks_global, norm)
        self.model = nn.Sequential(*layers[:-3])  # the official drops the final pad/conv/tanh
        for n in range(1, n_local_enhancers + 1):
            ch = ngf * 2 ** (n_local_enhancers - n)
            down = _head(input_nc, ch, norm) + _down(ch, 1, norm)
            up: list[nn.Module] = [ResnetBlock(ch * 2, norm) for _ in range(n_blocks_local)]
            up += _up(ch, 1, norm)
            if n == n_local_enhancers:
                up += _tail(ngf, output_nc, nn.Tanh())
            setattr(self, f"model{n}_1", nn.Sequential(*down))
            setattr(self, f"model{n}_2", nn.Sequential(*up))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def forward(
        self, x: torch.Tensor, conv: ConvRunner | None = None, head: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``conv`` and ``head`` as in :func:`run_layers` (``head``: of :func:`input_head` on ``x``)."""
        pyramid = [x]
        for _ in range(self.n_local_enhancers):
            pyramid.append(self.downsample(pyramid[-1]))
        out = run_layers(self.model, pyramid[-1], conv)
        for n in range(1, self.n_local_enhancers + 1):
            level = pyramid[self.n_local_enhancers - n]
            finest = head if n == self.n_local_enhancers else None
            down = run_layers(getattr(self, f"model{n}_1"), level, conv, finest)
            out = run_layers(getattr(self, f"model{n}_2"), down + out, conv)
        return out


class Encoder(nn.Module):
    """Feature encoder: image (B, 3, H, W) in [-1, 1] -> (B, feat_num, H, W), then per-instance means.

    ``raw(image)`` is the network output (tanh); ``forward(image, ids)`` replaces every channel by its
    mean over each id of ``ids`` (B, 1, H, W), as the official ``Encoder.forward(input, inst)``.
    """

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 16,
        n_downsampling: int = 4,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        self.output_nc = output_nc
        layers = (
            _head(input_nc, ngf, norm)
            + _down(ngf, n_downsampling, norm)
            + _up(ngf, n_downsampling, norm)
            + _tail(ngf, output_nc, nn.Tanh())
        )
        self.model = nn.Sequential(*layers)

    def raw(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)

    def forward(self, image: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        from regionpaint.engines.pix2pixhd.features import instance_mean

        return instance_mean(self.model(image), ids)


def build_generator(arch: GeneratorArch) -> nn.Module:
    if arch.netG == "global":
        return GlobalGenerator(
            arch.input_nc, arch.output_nc, arch.ngf, arch.n_downsample_global, arch.n_blocks_global, arch.norm
        )
    if arch.netG == "local":
        return LocalEnhancer(
            arch.input_nc,
            arch.output_nc,
            arch.ngf,
            arch.n_downsample_global,
            arch.n_blocks_global,
            arch.n_local_enhancers,
            arch.n_blocks_local,
            arch.norm,
        )
    raise ValueError(f"unknown netG {arch.netG!r}")


def build_encoder(arch: EncoderArch) -> Encoder:
    return Encoder(arch.input_nc, arch.feat_num, arch.nef, arch.n_downsample_E, arch.norm)
