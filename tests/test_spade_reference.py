"""An independent, straightforward SPADE forward (written from the official code's description) and
tiny random checkpoints in the official layout, used by the other ``test_spade_*`` files.

The reference reads the raw official state dict (``weight_orig``/``weight_u``/``weight_v``, running
statistics) with plain functional ops and shares no code with ``regionpaint.engines.spade``. It is itself checked here
against the official output of the ``spade_cityscapes`` case, so the configurations the shared refs do not
cover (VAE, don't-care, other sizes) are checked against something that is known to match the official code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from tests.factories import make_tiny_checkpoint

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2] / "shared"
CITYSCAPES = SHARED / "refs" / "spade_cityscapes"
CITY_STEM = "datasets/cityscapes/gtFine/val/frankfurt/frankfurt_000000_000576_gtFine"
EPS = 1e-5
SLOPE = 0.2


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


# ---- reference forward --------------------------------------------------------------------------------


def _weight(sd: dict, prefix: str) -> torch.Tensor:
    """Eval-mode spectral norm: W / (u . (W_mat v)) with the stored u, v (no power iteration)."""
    if f"{prefix}.weight_orig" in sd:
        w = sd[f"{prefix}.weight_orig"]
        sigma = torch.dot(sd[f"{prefix}.weight_u"], w.reshape(w.shape[0], -1) @ sd[f"{prefix}.weight_v"])
        return w / sigma
    return sd[f"{prefix}.weight"]


def _has(sd: dict, prefix: str) -> bool:
    return f"{prefix}.weight" in sd or f"{prefix}.weight_orig" in sd


def _conv(sd: dict, prefix: str, x: torch.Tensor, stride: int = 1) -> torch.Tensor:
    w = _weight(sd, prefix)
    return F.conv2d(x, w, sd.get(f"{prefix}.bias"), stride=stride, padding=w.shape[-1] // 2)


def _instance_norm(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + EPS)


def _param_free(sd: dict, prefix: str, x: torch.Tensor) -> torch.Tensor:
    if f"{prefix}.running_mean" not in sd:
        return _instance_norm(x)
    # (sync) batch norm in eval mode: running statistics
    mean = sd[f"{prefix}.running_mean"].view(1, -1, 1, 1)
    var = sd[f"{prefix}.running_var"].view(1, -1, 1, 1)
    return (x - mean) / torch.sqrt(var + EPS)


def _spade(sd: dict, prefix: str, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
    hidden = F.relu(_conv(sd, f"{prefix}.mlp_shared.0", seg))
    gamma = _conv(sd, f"{prefix}.mlp_gamma", hidden)
    beta = _conv(sd, f"{prefix}.mlp_beta", hidden)
    return _param_free(sd, f"{prefix}.param_free_norm", x) * (1 + gamma) + beta


def _block(sd: dict, name: str, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    if _has(sd, f"{name}.conv_s"):
        shortcut = _conv(sd, f"{name}.conv_s", _spade(sd, f"{name}.norm_s", x, seg))
    else:
        shortcut = x
    dx = _conv(sd, f"{name}.conv_0", F.leaky_relu(_spade(sd, f"{name}.norm_0", x, seg), SLOPE))
    dx = _conv(sd, f"{name}.conv_1", F.leaky_relu(_spade(sd, f"{name}.norm_1", dx, seg), SLOPE))
    return shortcut + dx


def _up(x: torch.Tensor) -> torch.Tensor:
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def reference_generator(
    sd: dict, seg: torch.Tensor, latent: tuple[int, int], num_up: str, z: torch.Tensor | None = None
) -> torch.Tensor:
    """seg: (1, semantic_nc, H, W); latent (sh, sw); z (1, z_dim) for a VAE -> (1, 3, sh*2^n, sw*2^n)."""
    sh, sw = latent
    if sd["fc.weight"].dim() == 2:
        x = F.linear(z, sd["fc.weight"], sd["fc.bias"]).view(1, -1, sh, sw)
    else:
        x = _conv(sd, "fc", F.interpolate(seg, size=(sh, sw), mode="nearest"))
    x = _block(sd, "head_0", x, seg)
    x = _block(sd, "G_middle_0", _up(x), seg)
    if num_up in ("more", "most"):
        x = _up(x)
    x = _block(sd, "G_middle_1", x, seg)
    for k in range(4):
        x = _block(sd, f"up_{k}", _up(x), seg)
    if num_up == "most":
        x = _block(sd, "up_4", _up(x), seg)
    return torch.tanh(_conv(sd, "conv_img", F.leaky_relu(x, SLOPE)))


def reference_encoder(sd: dict, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """image: (1, 3, H, W) in [-1, 1] -> (mu, logvar) of the official ConvEncoder (spectralinstance)."""
    if image.shape[2:] != (256, 256):
        image = F.interpolate(image, size=(256, 256), mode="bilinear", align_corners=False)
    x = image
    for i in range(1, 7):
        if not _has(sd, f"layer{i}.0"):
            break
        if i > 1:
            x = F.leaky_relu(x, SLOPE)
        x = _instance_norm(_conv(sd, f"layer{i}.0", x, stride=2))
    x = F.leaky_relu(x, SLOPE).flatten(1)
    return F.linear(x, sd["fc_mu.weight"], sd["fc_mu.bias"]), F.linear(x, sd["fc_var.weight"], sd["fc_var.bias"])


def reference_semantics(label: np.ndarray, instance: np.ndarray | None, channels: int) -> torch.Tensor:
    """One-hot over ``channels`` from (H, W) ids already at network size (255 -> channels - 1 when
    don't-care is the last label channel), then the 4-neighbour edge map of ``instance`` as last channel."""
    h, w = label.shape
    onehot = np.zeros((channels, h, w), np.float32)
    rows, cols = np.indices((h, w))
    onehot[label, rows, cols] = 1.0
    planes = [onehot]
    if instance is not None:
        edge = np.zeros((h, w), bool)
        dx = instance[:, 1:] != instance[:, :-1]
        dy = instance[1:, :] != instance[:-1, :]
        edge[:, 1:] |= dx
        edge[:, :-1] |= dx
        edge[1:, :] |= dy
        edge[:-1, :] |= dy
        planes.append(edge[None].astype(np.float32))
    return torch.from_numpy(np.concatenate(planes))[None]


# ---- tiny checkpoints in the official layout -------------------------------------------------------------


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


# ---- the reference is faithful ----------------------------------------------------------------------------


def test_reference_forward_reproduces_the_official_cityscapes_output():
    case = require(CITYSCAPES)
    sd = load_state(case / "checkpoints/spade_cityscapes/latest_net_G.pth")
    label = np.asarray(Image.open(case / "inputs/label_preprocessed.png")).astype(np.int64)
    instance = np.asarray(Image.open(case / "inputs/instance_preprocessed.png")).astype(np.int64)
    seg = reference_semantics(label, instance, 35)
    with torch.no_grad():
        out = reference_generator(sd, seg, (2, 4), "more")
    expected = torch.load(case / "output.pt", weights_only=True)
    assert (out - expected).abs().max().item() < 1e-4


def test_tiny_checkpoints_are_discriminating(tmp_path):
    """The random weights give a spread output (not saturated, not constant) for the other tests."""
    folder = make_tiny_checkpoint(tmp_path / "tiny", aspect_ratio=2.0)
    sd = load_state(folder / "latest_net_G.pth")
    label = np.arange(128 * 256).reshape(128, 256) // 997 % 5
    with torch.no_grad():
        out = reference_generator(sd, reference_semantics(label, label, 5), (4, 8), "normal")
    assert out.shape == (1, 3, 128, 256)
    assert 0.05 < out.std().item() and out.abs().max().item() < 0.999
