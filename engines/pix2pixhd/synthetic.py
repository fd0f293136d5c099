"""Tiny random-weight pix2pixHD checkpoints in the official folder layout (tests, demos, benchmarks).

Weights are deliberately "non-trivial": conv weights ~ N(0, gain / sqrt(fan_in)) and biases ~ U(-0.5, 0.5),
so every layer (and every bias) visibly moves the output, unlike the official N(0, 0.02) init.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engines.pix2pixhd.architecture import EncoderArch, GeneratorArch, InputLayout
from engines.pix2pixhd.clusters import save_clusters
from engines.pix2pixhd.loading import architecture_options
from engines.pix2pixhd.networks import build_encoder, build_generator


def randomize(net: nn.Module, seed: int, gain: float = 1.5) -> nn.Module:
    """Fill every parameter of ``net`` in place with seeded, non-trivial values; returns ``net``."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.endswith("bias"):
                param.copy_(torch.rand(param.shape, generator=gen) - 0.5)
            elif param.ndim == 4:
                # ConvTranspose2d weights are (in, out, k, k): fan-in is in * k * k for both layouts.
                fan_in = param.shape[1] * param.shape[2] * param.shape[3]
                if isinstance(_owner(net, name), nn.ConvTranspose2d):
                    fan_in = param.shape[0] * param.shape[2] * param.shape[3]
                param.copy_(torch.randn(param.shape, generator=gen) * gain / fan_in**0.5)
            else:  # batch-norm scales
                param.copy_(1 + 0.2 * torch.randn(param.shape, generator=gen))
    return net


def _owner(net: nn.Module, param_name: str) -> nn.Module:
    return net.get_submodule(param_name.rsplit(".", 1)[0])


def format_pix2pixhd_opt(opt: Mapping[str, object]) -> str:
    """opt.txt in the pix2pixHD layout (``key: value`` lines between dashed markers)."""
    lines = ["------------ Options -------------"]
    lines += [f"{k}: {v}" for k, v in sorted(opt.items())]
    lines.append("-------------- End ----------------")
    return "\n".join(lines) + "\n"


def random_clusters(label_ids: list[int], feat_num: int, n_clusters: int, seed: int) -> dict[int, np.ndarray]:
    """{class: (n_clusters, feat_num) float64} centres in [-1, 1], like a k-means result on tanh features."""
    rng = np.random.RandomState(seed)
    return {label: rng.uniform(-1, 1, size=(n_clusters, feat_num)) for label in label_ids}


def write_checkpoint(
    folder: str | Path,
    arch: GeneratorArch,
    layout: InputLayout,
    *,
    encoder: EncoderArch | None = None,
    clusters: Mapping[int, np.ndarray] | None = None,
    seed: int = 0,
    extra_opt: Mapping[str, object] | None = None,
) -> dict[str, dict[str, torch.Tensor]]:
    """Write ``latest_net_G.pth`` (+ ``latest_net_E.pth``, ``features_clustered_010.npy``) and ``opt.txt``.

    Returns the written state dicts by role ("G", "E").
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    states = {"G": randomize(build_generator(arch), seed).state_dict()}
    torch.save(states["G"], folder / "latest_net_G.pth")
    if encoder is not None:
        states["E"] = randomize(build_encoder(encoder), seed + 1).state_dict()
        torch.save(states["E"], folder / "latest_net_E.pth")
    if clusters is not None:
        save_clusters(folder / "features_clustered_010.npy", clusters)
    opt = architecture_options(arch, layout)
    opt.update(
        {
            "nef": encoder.nef if encoder else 16,
            "n_downsample_E": encoder.n_downsample_E if encoder else 4,
            "resize_or_crop": "none",
            "loadSize": 1024,
            "fineSize": 512,
            "gpu_ids": [],
            "isTrain": True,
        }
    )
    opt.update(extra_opt or {})
    (folder / "opt.txt").write_text(format_pix2pixhd_opt(opt), encoding="utf-8")
    return states
