"""Multi-scale PatchGAN discriminators with the official module layout and state-dict keys.

SPADE / SEAN (``models/networks/discriminator.py``): ``discriminator_<i>.model<n>``; the first and last
convs are plain (with bias), the middle ones go through ``get_nonspade_norm_layer(norm_D)``: with the default
``spectralinstance`` that is ``Sequential(spectral_norm(conv without bias), InstanceNorm2d)``, so the keys are
``discriminator_0.model1.0.0.weight_orig/_u/_v``. Scale ``i`` sees the input average-pooled ``i`` times.
NVlabs/SPADE (n_layers_D 4 by default) makes the last middle conv stride 1; ZPdesu/SEAN forked it before
that change (n_layers_D 3, every middle conv stride 2): ``last_stride_one`` chooses.

pix2pixHD (``models/networks.py``, ``getIntermFeat`` = not ``no_ganFeat_loss``): ``scale<i>_layer<j>``,
conv biases everywhere, ``--norm`` after every middle conv, and an extra stride-1 conv before the last.
``scale<num_D-1>`` sees the full-resolution input (the official forward walks the scales backwards).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

KERNEL = 4
PADDING = 2  # official int(np.ceil((kw - 1.0) / 2))

# Per scale: the outputs of every layer group, the last being the patch prediction (B, 1, h, w).
ScaleOutputs = list[torch.Tensor]


def downsample(x: torch.Tensor) -> torch.Tensor:
    """The official scale step: AvgPool 3x3, stride 2, padding 1, count_include_pad False."""
    return F.avg_pool2d(x, kernel_size=3, stride=2, padding=[1, 1], count_include_pad=False)


def nonspade_norm(norm_type: str, layer: nn.Module) -> nn.Module:
    """Official ``get_nonspade_norm_layer(opt, norm_type)(layer)``.

    ``spectral<sub>`` wraps the layer in spectral norm; a ``<sub>`` norm other than ``none`` drops the
    layer's bias (a norm follows) and appends BatchNorm2d(affine) / InstanceNorm2d(no affine).
    ``sync_batch`` is a BatchNorm2d here, converted to a synchronised one under DDP.
    """
    subnorm = norm_type
    if norm_type.startswith("spectral"):
        layer = spectral_norm(layer)
        subnorm = norm_type[len("spectral") :]
    if subnorm in ("", "none"):
        return layer
    if getattr(layer, "bias", None) is not None:
        delattr(layer, "bias")
        layer.register_parameter("bias", None)
    channels = layer.out_channels
    if subnorm in ("batch", "sync_batch", "syncbatch"):
        norm: nn.Module = nn.BatchNorm2d(channels, affine=True)
    elif subnorm == "instance":
        norm = nn.InstanceNorm2d(channels, affine=False)
    else:
        raise ValueError(f"normalization layer {subnorm!r} is not recognized (norm_D {norm_type!r})")
    return nn.Sequential(layer, norm)


class NLayerDiscriminator(nn.Module):
    """SPADE's PatchGAN. x: (B, input_nc, H, W) -> outputs of ``model0`` .. ``model<n_layers_D>``."""

    def __init__(self, input_nc: int, ndf: int, n_layers_D: int, norm_D: str, last_stride_one: bool = True) -> None:
        super().__init__()
        nf = ndf
        groups: list[list[nn.Module]] = [
            [nn.Conv2d(input_nc, nf, KERNEL, stride=2, padding=PADDING), nn.LeakyReLU(0.2, False)]
        ]
        for n in range(1, n_layers_D):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = 1 if last_stride_one and n == n_layers_D - 1 else 2
            conv = nn.Conv2d(nf_prev, nf, KERNEL, stride=stride, padding=PADDING)
            groups.append([nonspade_norm(norm_D, conv), nn.LeakyReLU(0.2, False)])
        groups.append([nn.Conv2d(nf, 1, KERNEL, stride=1, padding=PADDING)])
        for n, layers in enumerate(groups):
            self.add_module(f"model{n}", nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> ScaleOutputs:
        outputs = []
        for layer in self.children():
            x = layer(x)
            outputs.append(x)
        return outputs


class MultiscaleDiscriminator(nn.Module):
    """SPADE's multi-scale D: ``num_D`` NLayerDiscriminators, the input halved between them.

    x: (B, semantic_nc + 3, H, W) = cat(semantics, image) -> one list of layer outputs per scale.
    """

    def __init__(
        self, input_nc: int, ndf: int, n_layers_D: int, num_D: int, norm_D: str, last_stride_one: bool = True
    ) -> None:
        super().__init__()
        for i in range(num_D):
            scale = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm_D, last_stride_one)
            self.add_module(f"discriminator_{i}", scale)

    def forward(self, x: torch.Tensor) -> list[ScaleOutputs]:
        results = []
        for discriminator in self.children():
            results.append(discriminator(x))
            x = downsample(x)
        return results


def _pix2pixhd_norm(norm: str, channels: int) -> nn.Module:
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    raise ValueError(f"unknown pix2pixHD norm {norm!r}")


def pix2pixhd_layer_groups(input_nc: int, ndf: int, n_layers: int, norm: str) -> list[list[nn.Module]]:
    """The official pix2pixHD NLayerDiscriminator ``sequence`` (``n_layers + 2`` groups, no sigmoid)."""
    groups: list[list[nn.Module]] = [
        [nn.Conv2d(input_nc, ndf, KERNEL, stride=2, padding=PADDING), nn.LeakyReLU(0.2, True)]
    ]
    nf = ndf
    for _ in range(1, n_layers):
        nf_prev, nf = nf, min(nf * 2, 512)
        conv = nn.Conv2d(nf_prev, nf, KERNEL, stride=2, padding=PADDING)
        groups.append([conv, _pix2pixhd_norm(norm, nf), nn.LeakyReLU(0.2, True)])
    nf_prev, nf = nf, min(nf * 2, 512)
    conv = nn.Conv2d(nf_prev, nf, KERNEL, stride=1, padding=PADDING)
    groups.append([conv, _pix2pixhd_norm(norm, nf), nn.LeakyReLU(0.2, True)])
    groups.append([nn.Conv2d(nf, 1, KERNEL, stride=1, padding=PADDING)])
    return groups


class Pix2PixHDDiscriminator(nn.Module):
    """pix2pixHD's multi-scale D. x: (B, label_nc [+1] + 3, H, W) -> per scale, full resolution first.

    With intermediate features (the default) every scale returns its ``n_layers + 2`` group outputs; without,
    a one-element list with the prediction (keys ``layer<i>.<k>``). The official ``no_lsgan`` sigmoid is not
    built: the vanilla GAN loss takes logits instead (the same objective, numerically safer).
    """

    def __init__(
        self, input_nc: int, ndf: int, n_layers: int, num_D: int, norm: str = "instance", intermediate: bool = True
    ) -> None:
        super().__init__()
        self.num_D, self.n_layers, self.intermediate = num_D, n_layers, intermediate
        for i in range(num_D):
            groups = pix2pixhd_layer_groups(input_nc, ndf, n_layers, norm)
            if intermediate:
                for j, layers in enumerate(groups):
                    setattr(self, f"scale{i}_layer{j}", nn.Sequential(*layers))
            else:
                setattr(self, f"layer{i}", nn.Sequential(*[m for layers in groups for m in layers]))

    def _scale(self, index: int, x: torch.Tensor) -> ScaleOutputs:
        if not self.intermediate:
            return [getattr(self, f"layer{index}")(x)]
        outputs = []
        for j in range(self.n_layers + 2):
            x = getattr(self, f"scale{index}_layer{j}")(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> list[ScaleOutputs]:
        results = []
        for i in range(self.num_D):
            results.append(self._scale(self.num_D - 1 - i, x))
            if i != self.num_D - 1:
                x = downsample(x)
        return results
