"""Tiny random-weight checkpoints in the official layouts, for tests (one place for every engine).

* SPADE: :func:`make_tiny_checkpoint` writes latest_net_G.pth [+ latest_net_E.pth] + opt.txt.
* pix2pixHD: :func:`write_checkpoint`, :func:`randomize`, :func:`random_clusters`.

Weights are deliberately "non-trivial" (every layer visibly moves the output), unlike the official
N(0, 0.02) init. Test support only: nothing in the application imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.loading.options import format_opt_text
from regionpaint.engines.pix2pixhd.architecture import EncoderArch, GeneratorArch, InputLayout
from regionpaint.engines.pix2pixhd.clusters import save_clusters
from regionpaint.engines.pix2pixhd.loading import architecture_options
from regionpaint.engines.pix2pixhd.networks import build_encoder, build_generator


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


# ---- SPADE ----


def _randomize(state: dict, seed: int) -> dict:
    """Non-trivial weights: Xavier-normal (variance 1 scale), biases N(0, 0.1), warmed-up-looking running
    statistics, and u/v from a few power iterations (as training leaves them)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(0, dtype=torch.long)
        elif key.endswith("running_mean"):
            out[key] = torch.randn(value.shape, generator=gen) * 0.2
        elif key.endswith("running_var"):
            out[key] = torch.rand(value.shape, generator=gen) + 0.5
        elif key.endswith("bias"):
            out[key] = torch.randn(value.shape, generator=gen) * 0.1
        elif key.endswith(("weight_u", "weight_v")):
            continue
        else:
            fan_in = math.prod(value.shape[1:]) if value.dim() > 1 else 1
            fan_out = value.shape[0] * (math.prod(value.shape[2:]) if value.dim() > 2 else 1)
            std = math.sqrt(2.0 / (fan_in + fan_out))
            out[key] = torch.randn(value.shape, generator=gen) * std
    for key in [k for k in state if k.endswith("weight_orig")]:
        prefix = key[: -len("_orig")]
        mat = out[key].reshape(out[key].shape[0], -1)
        u = F.normalize(torch.randn(mat.shape[0], generator=gen), dim=0)
        for _ in range(3):
            v = F.normalize(mat.t() @ u, dim=0)
            u = F.normalize(mat @ v, dim=0)
        out[f"{prefix}_u"], out[f"{prefix}_v"] = u, v
    return {k: out[k] for k in state}  # official key order


def make_tiny_checkpoint(
    folder: Path,
    *,
    label_nc: int = 5,
    contain_dontcare_label: bool = False,
    no_instance: bool = False,
    use_vae: bool = False,
    crop_size: int = 256,
    aspect_ratio: float = 2.0,
    num_upsampling_layers: str = "normal",
    ngf: int = 4,
    norm_G: str = "spectralspadesyncbatch3x3",
    seed: int = 0,
    write_opt: bool = True,
) -> Path:
    """An official-layout folder (latest_net_G.pth [+ latest_net_E.pth] + opt.txt) with random weights.

    The key layout comes from the engine's networks, whose keys are checked against the full-size official
    specs in test_spade_specs.py.
    """
    from regionpaint.engines.spade.config import EncoderConfig, SpadeConfig
    from regionpaint.engines.spade.networks import ConvEncoder, SPADEGenerator

    config = SpadeConfig(
        label_nc=label_nc,
        contain_dontcare_label=contain_dontcare_label,
        no_instance=no_instance,
        ngf=ngf,
        num_upsampling_layers=num_upsampling_layers,
        norm_G=norm_G,
        use_vae=use_vae,
        z_dim=256,
        crop_size=crop_size,
        aspect_ratio=aspect_ratio,
        encoder=EncoderConfig(ndf=ngf, has_layer6=crop_size >= 256) if use_vae else None,
    )
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(_randomize(SPADEGenerator(config).state_dict(), seed), folder / "latest_net_G.pth")
    if use_vae:
        torch.save(_randomize(ConvEncoder(config.encoder).state_dict(), seed + 1), folder / "latest_net_E.pth")
    if write_opt:
        options = {
            "label_nc": label_nc,
            "contain_dontcare_label": contain_dontcare_label,
            "no_instance": no_instance,
            "ngf": ngf,
            "num_upsampling_layers": num_upsampling_layers,
            "norm_G": norm_G,
            "norm_E": "spectralinstance",
            "use_vae": use_vae,
            "z_dim": 256,
            "crop_size": crop_size,
            "load_size": crop_size,
            "aspect_ratio": aspect_ratio,
            "preprocess_mode": "fixed",
            "dataset_mode": "custom",
            "isTrain": True,
        }
        (folder / "opt.txt").write_text(format_opt_text(options), encoding="utf-8")
    return folder
