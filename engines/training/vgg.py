"""VGG19 features for the perceptual loss, without torchvision.

The module keeps torchvision's layout (``features.<i>.weight``), so torchvision's ``vgg19-dcbb9e9d.pth``
(ImageNet weights) loads into it key for key. Only the first 30 layers are built: the official ``VGG19``
takes relu1_1 (after layer 1), relu2_1 (6), relu3_1 (11), relu4_1 (20) and relu5_1 (29).

Weights come from ``--vgg-weights PATH`` or the torch hub cache (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), where ``torchvision.models.vgg19(pretrained=True)`` leaves them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

VGG19_FILE = "vgg19-dcbb9e9d.pth"
# torchvision cfg "E" up to relu5_1: channels per conv, "M" = 2x2 max pool.
_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
FEATURE_LAYERS = (1, 6, 11, 20, 29)  # indices whose outputs are relu1_1 .. relu5_1


class VGGWeightsError(Exception):
    """VGG19 weights missing or unusable; the message says where they were looked for."""


class VGG19Features(nn.Module):
    """x: (B, 3, H, W) -> [relu1_1 (B,64,H,W), relu2_1 (B,128,H/2,W/2), relu3_1, relu4_1, relu5_1 (B,512,H/16,W/16)]."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        assert len(self.features) == FEATURE_LAYERS[-1] + 1

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in FEATURE_LAYERS:
                outputs.append(x)
        return outputs


def hub_checkpoint_dir() -> Path:
    """Where torch hub (and torchvision) caches downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_vgg19_weights(explicit: str | Path | None = None) -> Path:
    """The weights file to use: ``explicit``, else torchvision's file in the hub cache."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise VGGWeightsError(f"{path}: VGG19 weights file not found (--vgg-weights)")
        return path
    folder = hub_checkpoint_dir()
    preferred = folder / VGG19_FILE
    if preferred.is_file():
        return preferred
    others = sorted(folder.glob("vgg19-*.pth")) if folder.is_dir() else []
    others = [p for p in others if not p.name.startswith("vgg19_bn")]
    if others:
        return others[0]
    raise VGGWeightsError(
        f"no VGG19 weights in {folder} (expected {VGG19_FILE}, torchvision's ImageNet VGG19); "
        "pass --vgg-weights PATH or set TORCH_HOME"
    )


def load_vgg19(path: str | Path, device: torch.device | str = "cpu") -> VGG19Features:
    """Build :class:`VGG19Features` from a torchvision state dict; frozen, eval mode, on ``device``."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable files; its advice is never passed on
        from regionpaint.engines.loading.checkpoint import describe_torch_load_error

        raise VGGWeightsError(describe_torch_load_error(path, exc, "VGG19 weights")) from exc
    if not isinstance(state, Mapping):
        raise VGGWeightsError(f"{path}: not a state dict")
    net = VGG19Features()
    wanted = net.state_dict()
    picked = {}
    for key, tensor in wanted.items():
        if key not in state:
            raise VGGWeightsError(f"{path}: missing key {key!r}; not torchvision's VGG19 layout")
        if tuple(state[key].shape) != tuple(tensor.shape):
            shape = tuple(state[key].shape)
            raise VGGWeightsError(f"{path}: key {key!r} has shape {shape}, expected {tuple(tensor.shape)}")
        picked[key] = state[key].float()
    net.load_state_dict(picked)
    net.requires_grad_(False)
    return net.eval().to(device)
