"""SPADE generator and VAE encoder with the official NVlabs/SPADE module structure and state-dict keys.

Forward arithmetic follows ``models/networks/{generator,architecture,encoder}.py``; the SPADE
normalisation itself lives in :mod:`regionpaint.engines.layers.spade_norm`. Inference extras:

* Spectral norm: built with ``spectral_hooks=True`` the modules carry torch's ``spectral_norm`` (the
  official training layout). For inference they are built without hooks and the checkpoint's
  ``weight_orig``/``weight_u``/``weight_v`` are folded into ``weight = weight_orig / (u . W v)`` once by
  :func:`fold_spectral_state` (what the official eval forward computes on every call, with the same ops);
  :func:`official_state_shapes` gives the official key layout either way.
* :meth:`SPADEGenerator.modulations` computes every SPADE (gamma, beta) from the label alone, so a caller
  can reuse them while only ``z`` changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from regionpaint.engines.acceleration.fast import memory_format_of
from regionpaint.engines.acceleration.winograd import ConvRunner, call_conv
from regionpaint.engines.layers.spade_norm import SPADE, SPADE_HIDDEN, modulate, resize_segmap
from regionpaint.engines.loading.spectral import fold_spectral_norm, fold_spectral_state, is_hooked  # noqa: F401
from regionpaint.engines.loading.spectral import official_state_shapes as spectral_state_shapes
from regionpaint.engines.spade.config import EncoderConfig, SpadeConfig

LEAKY_SLOPE = 0.2
NORM_NAMES = ("norm_0", "norm_1", "norm_s")

# {block name: {norm name: (gamma, beta)}}; gamma/beta: (B, C, h, w) at the block's feature size.
Modulations = dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]]


class SPADEResnetBlock(nn.Module):
    """Official SPADEResnetBlock: a learned 1x1 shortcut only when ``fin != fout``; fmiddle = min(fin, fout).

    x: (B, fin, h, w), seg: (B, semantic_nc, H, W) -> (B, fout, h, w).
    """

    def __init__(
        self,
        fin: int,
        fout: int,
        norm_G: str,
        semantic_nc: int,
        spectral_hooks: bool = True,
        spade_hidden: int = SPADE_HIDDEN,
    ) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        self.spectral = "spectral" in norm_G
        fmiddle = min(fin, fout)
        # Registration order = official key order: conv_0, conv_1, conv_s, norm_0, norm_1, norm_s.
        self.conv_0 = nn.Conv2d(fin, fmiddle, kernel_size=3, padding=1)
        self.conv_1 = nn.Conv2d(fmiddle, fout, kernel_size=3, padding=1)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, kernel_size=1, bias=False)
        if self.spectral and spectral_hooks:
            self.conv_0 = spectral_norm(self.conv_0)
            self.conv_1 = spectral_norm(self.conv_1)
            if self.learned_shortcut:
                self.conv_s = spectral_norm(self.conv_s)
        config = norm_G.replace("spectral", "")
        self.norm_0 = SPADE(config, fin, semantic_nc, spade_hidden)
        self.norm_1 = SPADE(config, fmiddle, semantic_nc, spade_hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(config, fin, semantic_nc, spade_hidden)

    def spectral_layers(self) -> list[str]:
        """Names of the convs the official block wraps in spectral norm."""
        if not self.spectral:
            return []
        return ["conv_0", "conv_1"] + (["conv_s"] if self.learned_shortcut else [])

    def norms(self) -> dict[str, SPADE]:
        return {name: getattr(self, name) for name in NORM_NAMES if hasattr(self, name)}

    def _modulate(
        self,
        name: str,
        x: torch.Tensor,
        seg: torch.Tensor,
        mods: dict[str, tuple[torch.Tensor, torch.Tensor]] | None,
    ) -> torch.Tensor:
        norm: SPADE = getattr(self, name)
        if mods is None:
            return norm(x, seg)
        gamma, beta = mods[name]
        return modulate(norm.param_free_norm(x), gamma, beta)

    def forward(
        self,
        x: torch.Tensor,
        seg: torch.Tensor,
        mods: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
        conv: ConvRunner | None = None,
    ) -> torch.Tensor:
        """``conv``: how the render runs conv_0/conv_1 (``regionpaint.engines.acceleration.winograd``);
        None: directly."""
        if self.learned_shortcut:
            x_s = self.conv_s(self._modulate("norm_s", x, seg, mods))
        else:
            x_s = x
        dx = call_conv(conv, self.conv_0, F.leaky_relu(self._modulate("norm_0", x, seg, mods), LEAKY_SLOPE))
        dx = call_conv(conv, self.conv_1, F.leaky_relu(self._modulate("norm_1", dx, seg, mods), LEAKY_SLOPE))
        return x_s + dx


class SPADEGenerator(nn.Module):
    """Official SPADEGenerator. ``fc`` is a 3x3 conv on the downsampled segmap, or with a VAE
    ``Linear(z_dim, 16*ngf*sh*sw)`` on ``z``.

    Block order: head_0, up, G_middle_0, [up if more/most], G_middle_1, (up, up_k) for k = 0..3,
    [most: up, up_4]; then ``tanh(conv_img(leaky_relu(x, 0.2)))``.
    """

    def __init__(self, config: SpadeConfig, spectral_hooks: bool = True) -> None:
        super().__init__()
        self.config = config
        nf = config.ngf
        self.sh, self.sw = config.latent_size
        if config.use_vae:
            self.fc = nn.Linear(config.z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(config.semantic_nc, 16 * nf, 3, padding=1)
        widths = [("head_0", 16, 16), ("G_middle_0", 16, 16), ("G_middle_1", 16, 16)]
        widths += [("up_0", 16, 8), ("up_1", 8, 4), ("up_2", 4, 2), ("up_3", 2, 1)]
        for name, fin, fout in widths:
            block = SPADEResnetBlock(
                fin * nf, fout * nf, config.norm_G, config.semantic_nc, spectral_hooks, config.spade_hidden
            )
            setattr(self, name, block)
        final_nc = nf
        if config.num_upsampling_layers == "most":
            self.up_4 = SPADEResnetBlock(
                nf, nf // 2, config.norm_G, config.semantic_nc, spectral_hooks, config.spade_hidden
            )
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)
        # (block, upsample x2 before it) in forward order.
        more = config.num_upsampling_layers in ("more", "most")
        self.plan: tuple[tuple[str, bool], ...] = (
            ("head_0", False),
            ("G_middle_0", True),
            ("G_middle_1", more),
            ("up_0", True),
            ("up_1", True),
            ("up_2", True),
            ("up_3", True),
        ) + ((("up_4", True),) if config.num_upsampling_layers == "most" else ())

    def spectral_layers(self) -> list[str]:
        """Module names the official generator wraps in spectral norm (conv_0/conv_1/conv_s of blocks)."""
        return [f"{name}.{conv}" for name, _ in self.plan for conv in getattr(self, name).spectral_layers()]

    def block_sizes(self, latent_size: tuple[int, int]) -> dict[str, tuple[int, int]]:
        """Feature (h, w) of every block for a latent grid (sh, sw)."""
        h, w = latent_size
        sizes = {}
        for name, upsample in self.plan:
            if upsample:
                h, w = 2 * h, 2 * w
            sizes[name] = (h, w)
        return sizes

    def modulations(self, seg: torch.Tensor, latent_size: tuple[int, int] | None = None) -> Modulations:
        """Every SPADE (gamma, beta) for ``seg`` (B, semantic_nc, H, W): they depend on the label only."""
        sizes = self.block_sizes(latent_size or (self.sh, self.sw))
        mods: Modulations = {}
        for name, _ in self.plan:
            block: SPADEResnetBlock = getattr(self, name)
            mods[name] = {n: norm.modulation(seg, sizes[name]) for n, norm in block.norms().items()}
        return mods

    def initial(self, seg: torch.Tensor, z: torch.Tensor | None, latent_size: tuple[int, int]) -> torch.Tensor:
        """(B, 16*ngf, sh, sw): ``fc(z)`` for a VAE, else ``fc`` on the segmap nearest-resized to (sh, sw)."""
        if self.config.use_vae:
            if z is None:
                raise ValueError("a VAE generator needs z")
            x = self.fc(z).view(-1, 16 * self.config.ngf, latent_size[0], latent_size[1])
            # in the segmap's layout (channels-last in a render: see acceleration.fast.activation_input), so
            # the modulation maps and the activations never mix layouts (a mixed element-wise op is ~10x slower)
            return x.contiguous(memory_format=memory_format_of(seg))
        return self.fc(resize_segmap(seg, latent_size))

    def forward(
        self,
        seg: torch.Tensor,
        z: torch.Tensor | None = None,
        latent_size: tuple[int, int] | None = None,
        modulations: Modulations | None = None,
        conv: ConvRunner | None = None,
    ) -> torch.Tensor:
        """seg: (B, semantic_nc, H, W) float; z: (B, z_dim) (VAE only) -> (B, 3, sh*2^n, sw*2^n) in [-1, 1].

        ``latent_size`` (sh, sw) renders at another size (non-VAE: any; VAE: fixed by ``fc``). ``conv``: how the blocks'
        3x3 convolutions run (``regionpaint.engines.acceleration.winograd.WinogradConvs``); None: directly.
        """
        latent_size = latent_size or (self.sh, self.sw)
        x = self.initial(seg, z, latent_size)
        for name, upsample in self.plan:
            if upsample:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = getattr(self, name)(x, seg, None if modulations is None else modulations[name], conv)
        return torch.tanh(self.conv_img(F.leaky_relu(x, LEAKY_SLOPE)))


def _encoder_layer(config: EncoderConfig, fin: int, fout: int, spectral_hooks: bool) -> nn.Sequential:
    """Official ``get_nonspade_norm_layer(norm_E)(Conv2d(fin, fout, 3, stride 2, padding 1))``.

    The official helper wraps the conv in spectral norm, then deletes its bias when a norm follows.
    """
    conv: nn.Module = nn.Conv2d(fin, fout, 3, stride=2, padding=1, bias=config.norm == "none")
    if config.spectral and spectral_hooks:
        conv = spectral_norm(conv)
    if config.norm == "none":
        return nn.Sequential(conv)
    if config.norm == "instance":
        return nn.Sequential(conv, nn.InstanceNorm2d(fout, affine=False))
    if config.norm == "batch":
        return nn.Sequential(conv, nn.BatchNorm2d(fout, affine=True))
    raise ValueError(f"unknown encoder norm {config.norm!r}")


class ConvEncoder(nn.Module):
    """Official ConvEncoder: 5 (6 if crop_size >= 256) stride-2 3x3 convs + LeakyReLU 0.2, then
    ``fc_mu`` / ``fc_var`` on the flattened 4x4 features.

    image: (B, 3, H, W) in [-1, 1], bilinearly resized to 256x256 first -> (mu, logvar), each (B, 256).
    """

    FEATURE_SIZE = 4  # official ``self.so``

    def __init__(self, config: EncoderConfig, spectral_hooks: bool = True) -> None:
        super().__init__()
        self.config = config
        ndf = config.ndf
        widths = [(3, ndf), (ndf, 2 * ndf), (2 * ndf, 4 * ndf), (4 * ndf, 8 * ndf), (8 * ndf, 8 * ndf)]
        if config.has_layer6:
            widths.append((8 * ndf, 8 * ndf))
        self.num_layers = len(widths)
        for index, (fin, fout) in enumerate(widths, start=1):
            setattr(self, f"layer{index}", _encoder_layer(config, fin, fout, spectral_hooks))
        features = ndf * 8 * self.FEATURE_SIZE * self.FEATURE_SIZE
        self.fc_mu = nn.Linear(features, config.latent_dim)
        self.fc_var = nn.Linear(features, config.latent_dim)

    def spectral_layers(self) -> list[str]:
        return [f"layer{i}.0" for i in range(1, self.num_layers + 1)] if self.config.spectral else []

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = image
        if x.shape[2] != 256 or x.shape[3] != 256:
            x = F.interpolate(x, size=(256, 256), mode="bilinear")
        x = self.layer1(x)
        for index in range(2, self.num_layers + 1):
            x = getattr(self, f"layer{index}")(F.leaky_relu(x, LEAKY_SLOPE))
        x = F.leaky_relu(x, LEAKY_SLOPE).reshape(x.shape[0], -1)
        return self.fc_mu(x), self.fc_var(x)


def official_state_shapes(net: SPADEGenerator | ConvEncoder) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the official state dict of ``net``, in the official order, hooked or not
    (:func:`regionpaint.engines.loading.spectral.official_state_shapes`)."""
    return spectral_state_shapes(net, net.spectral_layers())
