"""The SEAN generator (ZPdesu/SEAN ``SPADEGenerator``) with the official state-dict layout.

Structure (keys as in the official ``latest_net_G.pth``):

* ``Zencoder.model.*``: the style encoder, a submodule of the generator.
* ``fc``: 3x3 conv on the segmap nearest-resized to the latent grid (sh, sw).
* blocks ``head_0, G_middle_0, G_middle_1, up_0, up_1, up_2, up_3`` (+ ``up_4`` for ``most``, built so the
  keys load but never run, as in the official forward): SPADE-style residual blocks whose norms are ACEs.
* ``conv_img``: 3x3 conv after leaky ReLU, then tanh.

Inference differs from the official module only in bookkeeping: per-region style codes are passed in
(the official "UI_mode"; the "test" path is the same with the Zencoder's codes), label-only results are
cached in a :class:`LabelContext`, and the noise comes from an explicit ``torch.Generator`` drawn in the
official order (ace_s, ace_0, ace_1 per block; blocks in forward order).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.acceleration import region_patterns
from regionpaint.engines.acceleration.fast import activation_input, memory_format_of
from regionpaint.engines.acceleration.winograd import ConvRunner, call_conv
from regionpaint.engines.base import InputError
from regionpaint.engines.layers.spade_norm import SPADE, STRUCTURAL, modulate, resize_segmap
from regionpaint.engines.loading.spectral import fold_spectral_norm
from regionpaint.engines.sean.config import BLOCKS, SeanConfig

log = logging.getLogger(__name__)

# Cache the label-only SPADE branch of every ACE only while it stays below this size.
MODULATION_CACHE_BYTES = 1 << 30

StyleCodes = torch.Tensor | Mapping[str, torch.Tensor]

# Per-tap style tables each ACE keeps, one per code table (a few MB each at 1024 channels): the fast and the
# exact codes of the edit being previewed, and the crossover blocks' own.
STYLE_TABLES_KEPT = 4


class Zencoder(nn.Module):
    """Style encoder: photo (B, 3, H, W) in [-1, 1] -> code map (B, style_length, H/2, W/2).

    Official layout: pad+conv+IN+lrelu, two stride-2 convs, one stride-2 transposed conv, pad+conv+tanh
    (Sequential indices 1, 4, 7, 10, 14 hold weights).
    """

    def __init__(self, style_length: int, ngf: int = 32, mid: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(3, ngf, 3),
            nn.InstanceNorm2d(ngf),
            _lrelu(),
        ]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1)]
            layers += [nn.InstanceNorm2d(ngf * mult * 2), _lrelu()]
        # The official InstanceNorm here is declared with ngf*2 features but normalises ngf*8 channels;
        # with affine=False and no running stats the feature count has no effect, so declare the real one.
        layers += [nn.ConvTranspose2d(ngf * 4, ngf * 8, 3, stride=2, padding=1, output_padding=1)]
        layers += [nn.InstanceNorm2d(ngf * 8), _lrelu()]
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(mid, style_length, 3), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)

    def region_codes(self, image: torch.Tensor, seg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-region mean codes of a photo under its segmap.

        image: (B, 3, H, W) float in [-1, 1]; seg: (B, C, H, W) one-hot float.
        Returns codes (B, C, style_length) (zeros for regions absent at H/2 x W/2) and present (B, C) bool.
        """
        code_map = self.model(image).float()  # fast mode's bf16 map: the means below stay float32
        seg = resize_segmap(seg, code_map.shape[-2:])  # legacy nearest, as the official forward
        # One batched matmul instead of the official per-class masked_select loop (which took 1.3 s of a
        # full-size render): sums of the code map over each channel's pixels, then / area. Same means up to
        # float summation order (~1e-7).
        masks = seg.bool().to(code_map.dtype).flatten(2)  # (B, C, hw)
        with torch.autocast(device_type=code_map.device.type, enabled=False):  # float32 sums in fast mode too
            sums = torch.bmm(masks, code_map.flatten(2).transpose(1, 2))  # (B, C, L)
        areas = masks.sum(dim=2)
        present = (areas > 0).cpu()
        codes = sums / areas.clamp(min=1).unsqueeze(-1)
        return codes, present


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, False)


class LabelContext:
    """Everything in a render that depends only on the segmap, computed once per label.

    seg: (1, C, H, W) one-hot float (+ instance edge channel). For every feature size it holds the
    legacy-nearest segmap, an index map (last set channel + 1, 0 = none; the official per-class
    ``masked_scatter`` loop lets later channels overwrite earlier ones) and the channels present; for
    every ACE the SPADE (gamma, beta) when they fit in :data:`MODULATION_CACHE_BYTES`, per map dtype: one
    context serves exact (float32) and fast (bf16) renders, so the editor's fast-then-exact pair of renders
    does not recompute the label work.
    """

    def __init__(self, seg: torch.Tensor, style_classes: int, cache_modulation: bool = True) -> None:
        if seg.shape[0] != 1:
            raise ValueError("SEAN renders one label map at a time (batch 1)")
        # In the render's layout (channels-last on CPU: acceleration.fast.exact_channels_last), so the SPADE
        # and style maps made from it match the activations they modulate.
        self.seg = activation_input(seg, False)
        self.style_classes = style_classes
        self.cache_modulation = cache_modulation
        self._sizes: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor, list[int]]] = {}
        self._modulation: dict[tuple[int, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}
        self._modulation_bytes = 0
        self._style_layouts: dict[tuple[int, int], region_patterns.RegionLayout] = {}

    def at(self, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """(segmap (1, C, h, w), index map (h, w) int64, present channel ids) at feature ``size``."""
        size = tuple(size)
        if size not in self._sizes:
            seg = resize_segmap(self.seg, size)
            channels = torch.arange(1, seg.shape[1] + 1, device=seg.device, dtype=seg.dtype)
            index = (seg[0] * channels[:, None, None]).amax(dim=0).long()
            present = [int(j) for j in torch.nonzero(seg[0].flatten(1).amax(dim=1) > 0).flatten().cpu()]
            self._sizes[size] = (seg, index, present)
        return self._sizes[size]

    def style_layout(self, size: tuple[int, int]) -> region_patterns.RegionLayout:
        """The index map at ``size`` as a region layout (codes 0..C: the rows of ACE style tables)."""
        size = tuple(size)
        if size not in self._style_layouts:
            _, index, _ = self.at(size)
            self._style_layouts[size] = region_patterns.region_layout(index, self.seg.shape[1] + 1)
        return self._style_layouts[size]

    def modulation(self, ace: ACE, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The ACE's label-only SPADE (gamma, beta) at ``size`` in the render's map dtype (float32 exact, the
        autocast dtype fast), cached while it fits the budget."""
        key = (id(ace), region_patterns.map_dtype(self.seg.device))
        if key in self._modulation:
            return self._modulation[key]
        gamma, beta = ace.Spade.modulation(self.at(size)[0], size)
        nbytes = 2 * gamma.numel() * gamma.element_size()
        if self.cache_modulation and self._modulation_bytes + nbytes <= MODULATION_CACHE_BYTES:
            self._modulation[key] = (gamma, beta)
            self._modulation_bytes += nbytes
        return gamma, beta


class ACE(nn.Module):
    """Official ``ACE``: SPADE modulation blended with per-region style modulation.

    ``out = BN(x + noise) * (1 + gamma) + beta`` with ``gamma = s(bg) * conv_gamma(middle) +
    (1 - s(bg)) * gamma_spade`` (same for beta), ``middle`` = ``relu(fc_mu_j(code_j))`` broadcast over
    region j. Without ``use_rgb`` (block ``up_3``) it is plain SPADE on the noisy input.
    """

    def __init__(self, norm_nc: int, config: SeanConfig, use_rgb: bool = True) -> None:
        super().__init__()
        k = config.spade_kernel
        self.Spade = SPADE(f"spade{config.spade_norm}{k}x{k}", norm_nc, config.semantic_nc, config.spade_hidden)
        self.use_rgb = use_rgb
        self.style_length = config.style_length
        self.blending_gamma = nn.Parameter(torch.zeros(1))
        self.blending_beta = nn.Parameter(torch.zeros(1))
        self.noise_var = nn.Parameter(torch.zeros(norm_nc))
        # Hard-coded 'spadesyncbatch3x3' in the official ACE whatever norm_G says; eval = running stats.
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        self.style_classes = config.style_classes if use_rgb else 0
        if use_rgb:
            for j in range(config.style_classes):
                setattr(self, f"fc_mu{j}", nn.Linear(config.style_length, config.style_length))
            self.conv_gamma = nn.Conv2d(config.style_length, norm_nc, 3, padding=1)
            self.conv_beta = nn.Conv2d(config.style_length, norm_nc, 3, padding=1)

    def draw_noise(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Official noise: CPU randn(B, W, H, 1) (W before H) * noise_var, as (B, C, H, W) in x's dtype.

        The result has ``x``'s memory layout, so ``x + noise`` is one contiguous pass: channels-last where
        ``x`` is (fast mode's activations), else contiguous (the exact path's). The official (B, W, H, C)
        transpose has H/W-swapped strides that slowed every later element-wise op, and a channels-last noise
        added to a contiguous ``x`` took 40 ms per 128x256x256 map where the same-layout add takes 5. The values
        are the same products either way.
        """
        b, _, h, w = x.shape
        # (B, H, W, 1) made contiguous: a product with it then takes its (H, W) order, not the draw's (W, H)
        draw = torch.randn(b, w, h, 1, generator=generator, dtype=torch.float32).transpose(1, 2).contiguous()
        draw = draw.to(x.device)
        if memory_format_of(x) == torch.channels_last:
            # (B, H, W, 1) times (C,): a (B, H, W, C) product, i.e. channels-last (B, C, H, W)
            return (draw * self.noise_var).permute(0, 3, 1, 2).to(x.dtype)
        # (B, 1, H, W) times (1, C, 1, 1): a contiguous (B, C, H, W) of the same products
        return (draw.view(b, 1, h, w) * self.noise_var.view(1, -1, 1, 1)).to(x.dtype)

    def style_map(self, codes: torch.Tensor, index: torch.Tensor, present: list[int]) -> torch.Tensor:
        """(1, style_length, h, w): relu(fc_mu_j(code_j)) on the pixels of region j, zeros elsewhere.

        codes: (C, style_length), one row per segmap channel.
        """
        return self.style_table(codes, present)[index].permute(2, 0, 1).unsqueeze(0).contiguous()

    def forward(
        self,
        x: torch.Tensor,
        context: LabelContext,
        codes: torch.Tensor | None,
        noise: torch.Generator | None,
    ) -> torch.Tensor:
        if noise is not None:
            x = x + self.draw_noise(x, noise)
        normalized = self.param_free_norm(x)
        size = tuple(x.shape[-2:])
        gamma_spade, beta_spade = context.modulation(self, size)
        if not self.use_rgb:
            return modulate(normalized, gamma_spade, beta_spade)
        _, index, present = context.at(size)
        missing = [j for j in present if j >= context.style_classes]
        if missing:
            raise InputError(
                f"segmap channels {missing} have no per-class style layer: this SEAN checkpoint has "
                f"fc_mu0..fc_mu{context.style_classes - 1} only (the official code fails here too)"
            )
        gamma_style, beta_style = self.style_modulation(context, size, codes, present)
        gamma_alpha = torch.sigmoid(self.blending_gamma)
        beta_alpha = torch.sigmoid(self.blending_beta)
        # lerp = alpha * style + (1 - alpha) * spade in one pass (the official three, same value up to rounding)
        dtype = gamma_spade.dtype  # bf16/fp16 in fast mode: lerp takes one dtype
        gamma = torch.lerp(gamma_spade, gamma_style.to(dtype), gamma_alpha.to(dtype))
        beta = torch.lerp(beta_spade, beta_style.to(dtype), beta_alpha.to(dtype))
        return modulate(normalized, gamma, beta)

    def style_table(self, codes: torch.Tensor, present: list[int]) -> torch.Tensor:
        """(C + 1, style_length): row j + 1 = relu(fc_mu_j(code_j)) for present channels, row 0 zeros."""
        table = codes.new_zeros((codes.shape[0] + 1, self.style_length))
        for j in present:
            # 1-D input like the official call, so the matrix-vector product rounds the same way.
            table[j + 1] = F.relu(getattr(self, f"fc_mu{j}")(codes[j]))
        return table

    def build_style_tap_tables(self, codes: torch.Tensor, convs: region_patterns.ConvMatrices) -> torch.Tensor:
        """(9, C + 2, 2 * norm_nc) float32: :meth:`style_tap_tables` without the cache."""
        classes = list(range(min(codes.shape[0], self.style_classes)))
        table = self.style_table(codes, classes).float()
        return region_patterns.tap_tables(region_patterns.with_zero_row(table), convs)

    def style_modulation(
        self, context: LabelContext, size: tuple[int, int], codes: torch.Tensor, present: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(conv_gamma(style map), conv_beta(style map)), each (1, C, h, w).

        The style map is piecewise constant (one row of :meth:`style_table` per region), so at inference the
        convolutions depend only on each pixel's 3x3 window of regions: table lookups once per distinct
        window, spread to the pixels (:mod:`regionpaint.engines.acceleration.region_patterns`); same values up to float
        summation order.
        """
        _, index, _ = context.at(size)
        layout = context.style_layout(size) if not torch.is_grad_enabled() and STRUCTURAL.enabled else None

        def plain() -> tuple[torch.Tensor, torch.Tensor]:
            middle = self.style_table(codes, present)[index].permute(2, 0, 1).unsqueeze(0)
            middle = middle.contiguous(memory_format=memory_format_of(context.seg))  # the activations' layout
            return self.conv_gamma(middle), self.conv_beta(middle)

        if layout is None or not region_patterns.patterns_chosen(
            "sean_style_modulation",
            f"{self.style_length}>{self.conv_gamma.out_channels} {size[0]}x{size[1]}",
            layout.share(1),
            lambda: self._pattern_style_modulation(layout, codes, size),
            plain,
            codes.device,
        ):
            return plain()
        return self._pattern_style_modulation(layout, codes, size)

    def _pattern_style_modulation(
        self, layout: region_patterns.RegionLayout, codes: torch.Tensor, size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        rc = region_patterns
        first, dtype = layout.patterns(1), rc.map_dtype(codes.device)
        with rc.float32_tables(codes.device):  # lookups only, no big matmul: float32 in fast mode too
            tables, bias = self.style_tap_tables(codes)
            maps = rc.spread(rc.lookup_conv(tables, layout.padded, first.taps, bias), first, *size, dtype)
        c = self.conv_gamma.out_channels
        return maps[:, :c], maps[:, c:]

    def style_tap_tables(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """((9, C + 2, 2 * norm_nc) per-tap tables of conv_gamma|conv_beta over the style table of every class
        the layer has (absent classes' rows are never looked up), their bias); float32.

        Reading the convolutions' weights is most of their cost (512 x 9 x 2048 floats in a 1024-channel
        block), so the tables are kept for the ``codes`` tensors they were made from (the last
        :data:`STYLE_TABLES_KEPT`): the engine hands the same tensor while the styles are unchanged, so a brush
        stroke does not rebuild them, in either mode.
        """
        convs = region_patterns.cached_matrices(self, "style", [self.conv_gamma, self.conv_beta])
        kept = self.__dict__.setdefault("_style_tap_tables", [])
        version = None if codes.is_inference() else codes._version  # inference tensors have no version
        for index, entry in enumerate(kept):
            if entry[0]() is codes and version is not None and entry[1:3] == (version, convs):
                kept.insert(0, kept.pop(index))  # most recently used first: the last to go
                return entry[3], convs.bias
        tables = self.build_style_tap_tables(codes, convs)
        # The last few code tables: fast mode's codes (its Zencoder runs in bf16) differ from exact's, and the
        # editor alternates the two on every edit.
        kept[:] = [(weakref.ref(codes), version, convs, tables), *kept[: STYLE_TABLES_KEPT - 1]]
        return tables, convs.bias


class SeanResnetBlock(nn.Module):
    """Official SEAN ``SPADEResnetBlock``.

    ``out = conv_s(ace_s(x)) + conv_1(lrelu(ace_1(conv_0(lrelu(ace_0(x))))))``; the shortcut is the
    identity when fin == fout.
    """

    def __init__(
        self, fin: int, fout: int, config: SeanConfig, use_rgb: bool = True, spectral_hooks: bool = True
    ) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        self.spectral = config.spectral
        fmiddle = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, fmiddle, 3, padding=1)
        self.conv_1 = nn.Conv2d(fmiddle, fout, 3, padding=1)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
        if config.spectral and spectral_hooks:
            self.conv_0 = nn.utils.spectral_norm(self.conv_0)
            self.conv_1 = nn.utils.spectral_norm(self.conv_1)
            if self.learned_shortcut:
                self.conv_s = nn.utils.spectral_norm(self.conv_s)
        self.ace_0 = ACE(fin, config, use_rgb)
        self.ace_1 = ACE(fmiddle, config, use_rgb)
        if self.learned_shortcut:
            self.ace_s = ACE(fin, config, use_rgb)

    def spectral_layers(self) -> list[str]:
        """Names of the convs the official block wraps in spectral norm."""
        if not self.spectral:
            return []
        return ["conv_0", "conv_1"] + (["conv_s"] if self.learned_shortcut else [])

    def forward(
        self,
        x: torch.Tensor,
        context: LabelContext,
        codes: torch.Tensor | None,
        noise: torch.Generator | None,
        conv: ConvRunner | None = None,
    ) -> torch.Tensor:
        """``conv``: how the render runs conv_0/conv_1 (``regionpaint.engines.acceleration.winograd``);
        None: directly."""
        # Order matters for the noise draws: shortcut ACE first, as the official forward.
        x_s = self.conv_s(self.ace_s(x, context, codes, noise)) if self.learned_shortcut else x
        dx = call_conv(conv, self.conv_0, F.leaky_relu(self.ace_0(x, context, codes, noise), 2e-1))
        dx = call_conv(conv, self.conv_1, F.leaky_relu(self.ace_1(dx, context, codes, noise), 2e-1))
        return x_s + dx


class SeanGenerator(nn.Module):
    """Official SEAN ``SPADEGenerator`` (style encoder inside)."""

    def __init__(self, config: SeanConfig, spectral_hooks: bool = True) -> None:
        """``spectral_hooks=False``: plain convs where the official code has spectral norm (loading folds
        it on the state dict; training keeps the hooks)."""
        super().__init__()
        self.config = config
        nf = config.ngf
        hooks = spectral_hooks
        self.Zencoder = Zencoder(config.style_length, config.zencoder_ngf, config.zencoder_mid)
        self.fc = nn.Conv2d(config.semantic_nc, 16 * nf, 3, padding=1)
        self.head_0 = SeanResnetBlock(16 * nf, 16 * nf, config, spectral_hooks=hooks)
        self.G_middle_0 = SeanResnetBlock(16 * nf, 16 * nf, config, spectral_hooks=hooks)
        self.G_middle_1 = SeanResnetBlock(16 * nf, 16 * nf, config, spectral_hooks=hooks)
        self.up_0 = SeanResnetBlock(16 * nf, 8 * nf, config, spectral_hooks=hooks)
        self.up_1 = SeanResnetBlock(8 * nf, 4 * nf, config, spectral_hooks=hooks)
        self.up_2 = SeanResnetBlock(4 * nf, 2 * nf, config, spectral_hooks=hooks)
        self.up_3 = SeanResnetBlock(2 * nf, 1 * nf, config, use_rgb=False, spectral_hooks=hooks)
        final_nc = nf
        if config.num_upsampling_layers == "most":
            # Built (its keys are in the checkpoint) but never called by the official forward.
            self.up_4 = SeanResnetBlock(1 * nf, nf // 2, config, spectral_hooks=hooks)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)

    def spectral_layers(self) -> list[str]:
        """Module names the official generator wraps in spectral norm (conv_0/conv_1/conv_s of blocks)."""
        blocks = [name for name, module in self.named_children() if isinstance(module, SeanResnetBlock)]
        return [f"{name}.{conv}" for name in blocks for conv in getattr(self, name).spectral_layers()]

    def fold_spectral_norm(self) -> None:
        """Replace each spectral-norm reparametrisation by its eval weight (engines/loading/spectral.py)."""
        fold_spectral_norm(self)

    def encode(self, image: torch.Tensor, seg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Zencoder region codes: see :meth:`Zencoder.region_codes`."""
        return self.Zencoder.region_codes(image, seg)

    def render(
        self,
        context: LabelContext,
        codes: StyleCodes,
        noise: torch.Generator | None = None,
        latent_size: tuple[int, int] | None = None,
        conv: ConvRunner | None = None,
    ) -> torch.Tensor:
        """Generator forward with externally supplied per-region codes (official "UI_mode").

        codes: (C, style_length) used by every ACE, or {block name: (C, style_length)} covering every
        styled block (crossover). noise: CPU generator for the ACE noise, None for no noise.
        latent_size: (sw, sh) of the first feature map; default from the options. conv: how the blocks'
        3x3 convolutions run (``regionpaint.engines.acceleration.winograd.WinogradConvs``); None: directly.
        Returns (1, 3, sh * 2**n, sw * 2**n) in [-1, 1].
        """
        if self.config.num_upsampling_layers == "most":
            raise InputError(
                "this SEAN checkpoint uses num_upsampling_layers 'most', which the official SEAN forward "
                "cannot run (conv_img expects ngf/2 channels but up_4 is never called)"
            )
        sw, sh = latent_size or self.config.latent_size
        per_block = codes if isinstance(codes, Mapping) else dict.fromkeys(BLOCKS, codes)
        unstyled = [b for b in BLOCKS if getattr(self, b).ace_0.use_rgb and per_block.get(b) is None]
        if unstyled:
            raise ValueError(f"no style codes for blocks {unstyled}")
        seg = resize_segmap(context.seg, (sh, sw))
        x = self.fc(activation_input(seg, torch.is_autocast_enabled(seg.device.type)))
        for name in BLOCKS:
            if self._upsample_before(name):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = getattr(self, name)(x, context, per_block.get(name), noise, conv)
        x = self.conv_img(F.leaky_relu(x, 2e-1))
        return torch.tanh(x)

    def _upsample_before(self, block: str) -> bool:
        """Nearest x2 before every block but head_0; before G_middle_1 only for 'more' (and 'most')."""
        if block == "head_0":
            return False
        if block == "G_middle_1":
            return self.config.num_upsampling_layers in ("more", "most")
        return True

    def forward(
        self,
        seg: torch.Tensor,
        image: torch.Tensor,
        noise: torch.Generator | None = None,
        conv: ConvRunner | None = None,
    ) -> torch.Tensor:
        """The official test path: codes from the Zencoder on (image, seg), then :meth:`render`."""
        codes, _ = self.encode(image, seg)
        context = LabelContext(seg, self.config.style_classes, cache_modulation=False)
        return self.render(context, codes[0], noise, conv=conv)
