"""The official weight initialisations.

* SPADE / SEAN ``BaseNetwork.init_weights(init_type, gain=init_variance)``: every Conv*/Linear weight
  xavier-normal (or normal/kaiming/orthogonal) with ``gain``, its bias 0; batch-norm weights N(1, gain), bias 0 (any
  BatchNorm2d subclass: the official tests the class name).
  For spectral-norm layers the official call writes ``m.weight.data``, which right after construction shares
  storage with ``weight_orig``: so ``weight_orig`` is what gets initialised.
* pix2pixHD ``weights_init``: Conv* weights N(0, 0.02) (biases keep PyTorch's default), BatchNorm2d weights
  N(1, 0.02), bias 0.
"""

from __future__ import annotations

from torch import nn
from torch.nn import init
from torch.nn.modules.batchnorm import _BatchNorm


def _weight(module: nn.Module):
    return getattr(module, "weight_orig", None) if hasattr(module, "weight_orig") else getattr(module, "weight", None)


def spade_init(net: nn.Module, init_type: str = "xavier", gain: float = 0.02) -> nn.Module:
    """Official SPADE/SEAN initialisation of every submodule of ``net`` (in place); returns ``net``."""
    for module in net.modules():
        name = type(module).__name__
        weight = _weight(module)
        if isinstance(module, _BatchNorm):
            if weight is not None:
                init.normal_(weight.data, 1.0, gain)
            if getattr(module, "bias", None) is not None:
                init.constant_(module.bias.data, 0.0)
        elif weight is not None and ("Conv" in name or "Linear" in name):
            if init_type == "normal":
                init.normal_(weight.data, 0.0, gain)
            elif init_type == "xavier":
                init.xavier_normal_(weight.data, gain=gain)
            elif init_type == "xavier_uniform":
                init.xavier_uniform_(weight.data, gain=1.0)
            elif init_type == "kaiming":
                init.kaiming_normal_(weight.data, a=0, mode="fan_in")
            elif init_type == "orthogonal":
                init.orthogonal_(weight.data, gain=gain)
            elif init_type == "none":
                module.reset_parameters()
            else:
                raise ValueError(f"initialization method {init_type!r} is not implemented")
            if getattr(module, "bias", None) is not None:
                init.constant_(module.bias.data, 0.0)
    return net


def pix2pixhd_init(net: nn.Module) -> nn.Module:
    """Official pix2pixHD ``weights_init`` applied to every submodule (in place); returns ``net``."""
    for module in net.modules():
        name = type(module).__name__
        if "Conv" in name and getattr(module, "weight", None) is not None:
            module.weight.data.normal_(0.0, 0.02)
        elif isinstance(module, _BatchNorm) and getattr(module, "weight", None) is not None:
            module.weight.data.normal_(1.0, 0.02)
            module.bias.data.fill_(0)
    return net
