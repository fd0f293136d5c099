"""SPADE (GauGAN) engine: official NVlabs/SPADE checkpoints, with or without the VAE encoder.

Torch is imported only inside the load steps and the render methods (via
:mod:`regionpaint.engines.spade.runtime`), so listing engines stays torch-free.

z for VAE checkpoints, first that applies: ``request.z`` > the encoded style photo (``default_style``'s
first source, else the first/only source in ``request.styles``): ``mu``, or with ``request.sample``
``mu + eps * std`` with eps seeded by ``request.seed or 0`` > ``N(0, 1)`` seeded by ``request.seed or 0``
(the official generator's draw when no image is given). The z used is returned in ``result.info["z"]``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from regionpaint.engines.base import (
    INSTANCE_MAP,
    LATENT_Z,
    CheckpointInfo,
    EngineError,
    InputError,
    RenderRequest,
    RenderResult,
    StyleSource,
)
from regionpaint.engines.caching.lru import LRUCache
from regionpaint.engines.loading.checkpoint_engine import CheckpointEngine
from regionpaint.engines.schema import Option
from regionpaint.engines.spade.config import SpadeConfig
from regionpaint.engines.spade.inputs import prepare_instance, prepare_label, prepare_photo, render_sizes
from regionpaint.engines.spade.loading import foreign_engine, infer_config

if TYPE_CHECKING:
    from regionpaint.engines.loading.pipeline import CheckpointContents

log = logging.getLogger(__name__)

ENGINE_ID = "spade"
ENCODING_CACHE_SIZE = 16  # (mu, logvar) of this many style photos


class SpadeEngine(CheckpointEngine):
    id = ENGINE_ID
    display_name = "SPADE (GauGAN)"
    capabilities = frozenset({INSTANCE_MAP, LATENT_Z})
    label_sets = ("cityscapes", "ade20k", "coco-stuff", "celebamask-hq")
    options = (
        Option(
            "spade_z",
            "choice",
            default="style",
            choices=("style", "random"),
            requires=LATENT_Z,
            label="z from",
            help="VAE checkpoints: z is the encoded style photo ('style') or drawn from the seed ('random')",
        ),
    )

    # The (gamma, beta) of every SPADE layer are kept for the last label (VAE renders where only z changes)
    # when they take at most this many bytes.
    modulation_cache_limit = 1 << 30

    def __init__(self) -> None:
        self.config: SpadeConfig | None = None
        self._generator: Any = None
        self._encoder: Any = None
        # regionpaint.engines.acceleration.compiled.BackgroundCompiler of the loaded generator
        self._compiler: Any = None
        self._convs: Any = None  # regionpaint.engines.acceleration.winograd.WinogradConvs of the loaded generator
        self._files: dict[str, Path] = {}
        self._stamp: tuple = ()
        self._device = "cpu"
        self._torch_device: Any = None
        self._label_cache: Any = None
        self._encodings: Any = None

    # ---- checkpoint -------------------------------------------------------------------------------

    @classmethod
    def capabilities_for(cls, info: CheckpointInfo | None) -> frozenset[str]:
        """LATENT_Z only for VAE checkpoints: their ``fc`` is a Linear layer from z (2-D weight)."""
        if info is None or len(info.shapes.get("fc.weight", ())) == 2:
            return cls.capabilities
        return cls.capabilities - {LATENT_Z}

    @classmethod
    def fit_request(cls, request: RenderRequest, capabilities: frozenset[str]) -> RenderRequest:
        if LATENT_Z in capabilities and request.options.get("spade_z") == "random":
            # z from the seed: the request carries no style photo for the encoder.
            return dataclasses.replace(request, styles={}, region_styles={}, default_style=None, sample=True)
        return request

    @classmethod
    def recognizes(cls, info: CheckpointInfo) -> bool:
        if info.declared_engine is not None:
            return info.declared_engine == ENGINE_ID
        shapes = info.shapes
        if foreign_engine(shapes) is not None:
            return False
        return "fc.weight" in shapes and "conv_img.weight" in shapes and any(k.startswith("head_0.") for k in shapes)

    # ---- loading: the steps regionpaint.engines.loading.checkpoint_engine.CheckpointEngine.load leaves to SPADE ------
    # An official folder (latest_net_G.pth + opt.txt [+ latest_net_E.pth]), a bare .pth or a regionpaint
    # .safetensors; every architectural option is read from the tensor shapes.

    def config_from(self, contents: CheckpointContents) -> SpadeConfig:
        return infer_config(
            contents.shapes("G"), contents.opt, contents.source("G"), contents.shapes("E"), contents.label_set
        )

    def build_networks(self, config: SpadeConfig, contents: CheckpointContents, device: Any) -> tuple[Any, Any]:
        """(generator, encoder or None) on ``device``."""
        from regionpaint.engines.spade import runtime

        weights, g_path, e_path = contents.weights, contents.source("G"), contents.source("E")
        generator = runtime.build_generator(config, weights["G"], g_path).to(device)
        encoder = None
        if config.encoder is not None:
            encoder = runtime.build_encoder(config.encoder, weights["E"], e_path).to(device)
        elif config.use_vae:
            log.warning("%s: VAE checkpoint without a usable encoder: z comes from request.z or a seed", g_path)
        elif "E" in weights:
            log.info("%s: encoder weights ignored (the generator is not a VAE)", e_path)
        return generator, encoder

    def install(
        self, config: SpadeConfig, networks: tuple[Any, Any], contents: CheckpointContents, device: Any
    ) -> None:
        from regionpaint.engines.acceleration.winograd import WinogradConvs
        from regionpaint.engines.spade import runtime

        self.config, (self._generator, self._encoder), self._files = config, networks, contents.files
        self._stamp = contents.stamp  # the save's check that the files are still what was loaded
        self._torch_device = device
        self._label_cache, self._encodings = runtime.LabelCache(), LRUCache(ENCODING_CACHE_SIZE)
        self._compiler = None  # compiled forwards belong to the network just replaced
        self._convs = WinogradConvs()  # the blocks' 1024-channel convs at the coarse sizes by Winograd

    def describe_loaded(self, config: SpadeConfig) -> str:
        out_w, out_h = config.output_size
        return (
            f"ngf {config.ngf}, semantic_nc {config.semantic_nc}, {config.num_upsampling_layers}, "
            f"{config.norm_G}, {out_w}x{out_h}"
        )

    @property
    def uses_vae(self) -> bool:
        """True for VAE checkpoints (z from request.z, an encoded photo, or a seed)."""
        return bool(self.config and self.config.use_vae)

    @property
    def has_encoder(self) -> bool:
        return self._encoder is not None

    def _save_contents(self, path: str | Path):
        """G (and E for a VAE) read again from the loaded files, so the copy is exact (the in-memory
        generator holds spectral norm folded)."""
        from regionpaint.engines.loading.pipeline import reread_weights

        config = self._require_loaded()
        weights = reread_weights(self._files, self._stamp, path)
        networks = {"G": weights["G"]}
        if config.use_vae and "E" in weights:
            networks["E"] = weights["E"]
        return networks, config.label_set, config.to_options()

    def network_size(self, label_shape: tuple[int, int]) -> tuple[int, int]:
        """(W, H) of the checkpoint's own render; SPADE resizes any label to it."""
        return self._require_loaded().output_size

    def size_multiple(self) -> int | None:
        """2**n for n upsampling layers (engines/spade/inputs.render_sizes); a VAE renders only its own size."""
        config = self._require_loaded()
        return None if config.use_vae else 2**config.num_up_layers

    def _drop_networks(self) -> None:
        self._generator = self._encoder = self._compiler = self._convs = None
        self._label_cache = self._encodings = None
        self.config = None

    # ---- rendering --------------------------------------------------------------------------------

    def encode_style(self, source: StyleSource) -> dict[str, np.ndarray]:
        """VAE encoding of a photo: {"mu", "logvar"}, each (1, 256) float32."""
        mu, logvar = self._encode(source)
        return {"mu": mu.numpy().copy(), "logvar": logvar.numpy().copy()}

    def generate(self, request: RenderRequest) -> RenderResult:
        import torch

        from regionpaint.engines.acceleration.fast import activation_input, render_math
        from regionpaint.engines.layers.tensors import tensor_to_image
        from regionpaint.engines.spade import runtime

        config = self._require_loaded()
        start = time.perf_counter()
        sizes, label, instance, info = self._prepared_input(request)

        fast = bool(request.fast)
        with torch.inference_mode(), render_math(self._torch_device, self.allow_tf32, fast):
            cache = self._label_cache
            key = runtime.array_digest(label, instance, extra=(sizes, fast))  # never a fast result for exact
            if cache.key != key:
                cache.reset(key)
                cache.semantics = activation_input(
                    runtime.make_semantics(label, instance, config, self._torch_device), fast
                )
            compile_ = fast and request.compile
            if config.use_vae:
                z, info["z_source"] = self._choose_z(request)
                info["z"] = z.numpy().copy()
                raw, info["compiled"] = self._render_vae(cache, z.to(self._torch_device), sizes.latent, compile_)
            else:
                info["cached"] = cache.output is not None
                if cache.output is None:
                    out = self._compiled(cache, None, sizes.latent) if compile_ else None
                    info["compiled"] = out is not None
                    if out is None:
                        out = self._generator(cache.semantics, latent_size=sizes.latent, conv=self._convs)
                    cache.output = out.float().cpu().contiguous()
                raw = cache.output
        # A clone made outside inference mode is an ordinary tensor the caller may modify freely.
        output = raw.clone()
        return RenderResult(
            image=tensor_to_image(output), tensor=output, seconds=time.perf_counter() - start, info=info
        )

    def _render_vae(self, cache: Any, z: Any, latent: tuple[int, int], compile_: bool = False) -> tuple[Any, bool]:
        """(output, whether the compiled forward made it)."""
        out = self._compiled(cache, z, latent) if compile_ else None
        if out is None:
            self._cache_modulations(cache, latent)
            out = self._generator(
                cache.semantics, z=z, latent_size=latent, modulations=cache.modulations, conv=self._convs
            )
            return out.float().cpu().contiguous(), False
        return out.float().cpu().contiguous(), True

    def _cache_modulations(self, cache: Any, latent: tuple[int, int]) -> None:
        from regionpaint.engines.spade import runtime

        if cache.modulations is None:
            if runtime.modulation_bytes(self._generator, latent) <= self.modulation_cache_limit:
                cache.modulations = self._generator.modulations(cache.semantics, latent)

    def _compiled(self, cache: Any, z: Any, latent: tuple[int, int]) -> Any | None:
        """The compiled fast generator's output once its compile for these shapes is done, else None.

        The label-only modulations (region_patterns: data-dependent shapes a static graph cannot hold) are
        computed eagerly and passed in; the compiled graph is the image path: convolutions, norms and
        element-wise ops of fixed shapes.
        """
        from regionpaint.engines.acceleration.compiled import fast_compiler, shape_key

        self._cache_modulations(cache, latent)
        if cache.modulations is None:
            return None  # too large to hold for a compiled forward: stay eager
        if self._compiler is None:
            self._compiler = fast_compiler(self._generator, self._torch_device, self.allow_tf32, self.display_name)
        example = (cache.semantics, z, latent, cache.modulations)
        return self._compiler.run(shape_key(*example), example)

    def _choose_z(self, request: RenderRequest) -> tuple[Any, str]:
        """(1, z_dim) CPU z and where it came from (see the module docstring for the order)."""
        from regionpaint.engines.spade import runtime

        config = self._require_loaded()
        seed = request.seed or 0
        if request.z is not None:
            return runtime.explicit_z(request.z, config.z_dim), "request"
        source = self._style_source(request)
        if source is None:
            return runtime.random_z(config.z_dim, seed), "random"
        mu, logvar = self._encode(source)
        if request.sample:
            return runtime.sample_z(mu, logvar, seed), "encoder_sample"
        return mu.clone(), "encoder_mean"

    @staticmethod
    def _style_source(request: RenderRequest) -> StyleSource | None:
        if request.default_style:
            name = request.default_style[0][0]
            if name not in request.styles:
                raise InputError(f"style source {name!r} is not among the request's styles")
            return request.styles[name]
        if request.styles:
            if len(request.styles) > 1:
                log.info("several style sources and no default: SPADE encodes the first one")
            return next(iter(request.styles.values()))
        return None

    def _encode(self, source: StyleSource) -> tuple[Any, Any]:
        import torch

        from regionpaint.engines.spade import runtime

        config = self._require_loaded()
        if not config.use_vae:
            raise EngineError(f"{self.display_name}: this checkpoint has no VAE encoder (not trained with --use_vae)")
        if self._encoder is None:
            raise InputError("this SPADE VAE checkpoint has no usable encoder (latest_net_E.pth) to encode a photo")
        photo = prepare_photo(source.image, config.input_size, f"style source {source.name!r}")
        key = runtime.array_digest(photo)
        cached = self._encodings.get(key)
        if cached is None:
            with torch.inference_mode(), runtime.float32_math(self._torch_device, self.allow_tf32):
                cached = runtime.encode_photo(self._encoder, photo, self._torch_device)
            self._encodings.put(key, cached)
        return cached

    def _require_loaded(self) -> SpadeConfig:
        if self.config is None or self._generator is None:
            raise self._not_loaded()
        return self.config

    # ---- batched rendering (regionpaint batch) ----------------------------------------------------

    def generate_batch(self, requests: Sequence[RenderRequest]) -> list[RenderResult]:
        """Render many requests with one generator call per group of equal network size.

        Each result equals :meth:`generate` of its request within float32 rounding (batched convolutions
        may sum in another order; ~1e-6). The label cache is bypassed: a batch rarely repeats a label.
        """
        import torch

        from regionpaint.engines.acceleration.fast import activation_input
        from regionpaint.engines.layers.tensors import tensor_to_image
        from regionpaint.engines.spade import runtime

        config = self._require_loaded()
        if any(request.fast for request in requests):  # fast mode renders one by one, exactly as render --fast
            return [self.generate(request) for request in requests]
        start = time.perf_counter()
        prepared = [self._prepared_input(request) for request in requests]
        for _sizes, _label, _instance, info in prepared:
            info["batched"] = True
        outputs: list[Any] = [None] * len(requests)
        groups: dict[Any, list[int]] = {}
        for index, (sizes, *_rest) in enumerate(prepared):
            groups.setdefault(sizes, []).append(index)
        with torch.inference_mode(), runtime.float32_math(self._torch_device, self.allow_tf32):
            for sizes, indices in groups.items():
                semantics = activation_input(
                    torch.cat(
                        [
                            runtime.make_semantics(prepared[i][1], prepared[i][2], config, self._torch_device)
                            for i in indices
                        ]
                    ),
                    False,
                )
                z = None
                if config.use_vae:
                    zs = []
                    for i in indices:
                        chosen, prepared[i][3]["z_source"] = self._choose_z(requests[i])
                        prepared[i][3]["z"] = chosen.numpy().copy()
                        zs.append(chosen)
                    z = torch.cat(zs).to(self._torch_device)
                raw = self._generator(semantics, z=z, latent_size=sizes.latent, conv=self._convs).float().cpu()
                for row, i in enumerate(indices):
                    outputs[i] = raw[row : row + 1].clone()
        seconds = (time.perf_counter() - start) / max(1, len(requests))
        return [
            RenderResult(image=tensor_to_image(out), tensor=out, seconds=seconds, info=info)
            for out, (_sizes, _label, _instance, info) in zip(outputs, prepared, strict=True)
        ]

    def _prepared_input(self, request: RenderRequest) -> list[Any]:
        """[sizes, network label, network instance or None, info]: the inputs of :meth:`generate` and
        :meth:`generate_batch` (official preprocessing at network size)."""
        config = self._require_loaded()
        sizes = render_sizes(config, request.size)
        label = prepare_label(request.label, config, sizes.input)
        instance, instance_source = None, None
        if not config.no_instance:
            instance, instance_source = prepare_instance(request.instance, request.label, sizes.input)
        info: dict[str, Any] = {
            "size": sizes.output,
            "label_set": config.label_set,
            "uses_vae": config.use_vae,
            "instance_source": instance_source,
        }
        return [sizes, label, instance, info]
