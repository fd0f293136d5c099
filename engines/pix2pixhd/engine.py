"""The pix2pixHD engine: official checkpoints in, official pixels out (torch is imported lazily).

Input of the generator (official ``encode_input``): one-hot labels (``label_nc`` channels, no
don't-care channel: every id must be < label_nc), then the instance edge map (unless ``no_instance``),
then ``feat_num`` feature channels (``instance_feat``/``label_feat``), constant per instance, taken
either from the encoder run on a photo of the same scene (``request.feature_source``) or from the
k-means cluster file (seeded pick, overridable per instance or per class).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from regionpaint.engines.base import (
    CLASS_CLUSTERS_OPTION,
    FEATURE_SOURCE_OPTION,
    INSTANCE_CLUSTERS_OPTION,
    INSTANCE_FEATURES,
    INSTANCE_MAP,
    CheckpointInfo,
    EngineError,
    InputError,
    RenderRequest,
    RenderResult,
    StyleSource,
)
from regionpaint.engines.caching.digest import content_digest
from regionpaint.engines.caching.lru import LRUCache
from regionpaint.engines.inputs import check_label_ids, id_map, rgb_image
from regionpaint.engines.layers.imageops import resize_bicubic, resize_nearest
from regionpaint.engines.loading.checkpoint_engine import CheckpointEngine
from regionpaint.engines.pix2pixhd.architecture import is_pix2pixhd_keys
from regionpaint.engines.schema import Option

if TYPE_CHECKING:
    from regionpaint.engines.loading.pipeline import CheckpointContents

log = logging.getLogger(__name__)

_ENCODER_CACHE_SIZE = 4


def output_to_image(out):
    """The official ``tensor2im`` computed where ``out`` (1, 3, H, W) lives -> (H, W, 3) uint8 numpy.

    Same float32 operations as :func:`regionpaint.engines.layers.tensors.tensor_to_image` (``(x + 1) / 2 * 255``,
    clip to [0, 255], truncating cast), hence bit-identical, but on the GPU it avoids a numpy pass over
    a float image (~45 ms at 2048x1024) and copies back a quarter of the bytes.
    """
    import torch

    pixels = (out[0].permute(1, 2, 0).float() + 1) / 2.0 * 255.0
    return pixels.clamp_(0, 255).to(torch.uint8).cpu().numpy()


def _cluster_picks(value: Any, option: str) -> dict[int, int]:
    """``{"26001": 3}`` (JSON keys are strings) -> ``{26001: 3}``."""
    if value in (None, {}, ""):
        return {}
    if not isinstance(value, dict):
        raise InputError(f"engine option {option!r} must map ids to cluster indices, got {value!r}")
    try:
        return {int(key): int(cluster) for key, cluster in value.items()}
    except (TypeError, ValueError) as exc:
        raise InputError(f"engine option {option!r}: {exc}") from exc


class Pix2PixHDEngine(CheckpointEngine):
    id = "pix2pixhd"
    display_name = "pix2pixHD"
    capabilities = frozenset({INSTANCE_MAP, INSTANCE_FEATURES})
    label_sets = ("cityscapes", "ade20k", "coco-stuff", "celebamask-hq")
    options = (
        Option(
            INSTANCE_CLUSTERS_OPTION,
            "json",
            default={},
            requires=INSTANCE_FEATURES,
            help='feature cluster per instance id, e.g. {"26001": 3}',
        ),
        Option(
            CLASS_CLUSTERS_OPTION,
            "json",
            default={},
            requires=INSTANCE_FEATURES,
            help='feature cluster for every instance of a class id, e.g. {"26": 3}',
        ),
        Option(
            FEATURE_SOURCE_OPTION,
            "str",
            default="",
            requires=INSTANCE_FEATURES,
            help="style source whose photo the encoder turns into instance features (empty: the clusters)",
        ),
    )

    def __init__(self) -> None:
        self._loaded = None  # regionpaint.engines.pix2pixhd.loading.LoadedCheckpoint
        self._compiler = None  # regionpaint.engines.acceleration.compiled.BackgroundCompiler of the loaded generator
        self._convs = None  # regionpaint.engines.acceleration.winograd.WinogradConvs of the loaded generator
        # regionpaint.engines.acceleration.onehot_conv.OneHotConv of its input convolution, built on first use
        self._head = None
        self._device = "cpu"
        self._torch_device = None
        self._encoded: LRUCache[Any] = LRUCache(_ENCODER_CACHE_SIZE)  # raw encoder outputs by photo

    # ----------------------------------------------------------------- checkpoint
    @classmethod
    def capabilities_for(cls, info: CheckpointInfo | None) -> frozenset[str]:
        """INSTANCE_FEATURES only for checkpoints with an encoder or feature clusters."""
        if info is None:
            return cls.capabilities
        with_features = bool(info.encoder_shapes) or "features" in info.files
        with_features |= any(info.opt.get(k, "").lower() == "true" for k in ("instance_feat", "label_feat"))
        return cls.capabilities if with_features else cls.capabilities - {INSTANCE_FEATURES}

    @classmethod
    def fit_request(cls, request: RenderRequest, capabilities: frozenset[str]) -> RenderRequest:
        """The document's cluster picks and feature source (engine options) become request fields."""
        if INSTANCE_FEATURES not in capabilities:
            return request
        options = request.options
        changes: dict[str, Any] = {}
        for name, field_name in (
            (INSTANCE_CLUSTERS_OPTION, "instance_clusters"),
            (CLASS_CLUSTERS_OPTION, "class_clusters"),
        ):
            picks = _cluster_picks(options.get(name), name)
            if picks:
                changes[field_name] = {**getattr(request, field_name), **picks}
        source = options.get(FEATURE_SOURCE_OPTION)
        if source and source in request.styles and request.feature_source is None:
            changes["feature_source"] = str(source)
        return dataclasses.replace(request, **changes) if changes else request

    @classmethod
    def recognizes(cls, info: CheckpointInfo) -> bool:
        if info.declared_engine is not None:
            return info.declared_engine == cls.id
        return is_pix2pixhd_keys(list(info.shapes))

    # The steps regionpaint.engines.loading.checkpoint_engine.CheckpointEngine.load leaves to pix2pixHD.
    def config_from(self, contents: CheckpointContents) -> Any:
        """regionpaint.engines.pix2pixhd.loading.CheckpointPlan: architectures, input channels, cluster centres."""
        from regionpaint.engines.pix2pixhd.loading import plan_checkpoint

        return plan_checkpoint(contents)

    def build_networks(self, config: Any, contents: CheckpointContents, device: Any) -> Any:
        """regionpaint.engines.pix2pixhd.loading.LoadedCheckpoint: the networks and what a render reads of them."""
        from regionpaint.engines.pix2pixhd.loading import build_networks

        return build_networks(config, contents, device)

    def install(self, config: Any, networks: Any, contents: CheckpointContents, device: Any) -> None:
        from regionpaint.engines.acceleration.winograd import WinogradConvs

        self._loaded, self._torch_device = networks, device
        self._compiler = self._head = None
        self._convs = WinogradConvs()  # its 1024-channel residual convolutions by Winograd (1.7x each)

    def _save_contents(self, path: str | Path):
        """The current weights: G, E, cluster centres as role ``F`` (no spectral norm to unfold here)."""
        import torch

        from regionpaint.engines.pix2pixhd.loading import CLUSTER_ROLE, options_for_save

        loaded = self._require()
        networks: dict[str, dict[str, Any]] = {"G": loaded.generator.state_dict()}
        if loaded.encoder is not None:
            networks["E"] = loaded.encoder.state_dict()
        if loaded.clusters is not None:
            networks[CLUSTER_ROLE] = {
                str(k): torch.from_numpy(np.ascontiguousarray(v)) for k, v in loaded.clusters.items()
            }
        return networks, loaded.label_set, options_for_save(loaded)

    def _drop_networks(self) -> None:
        self._loaded = self._compiler = self._convs = self._head = None
        self._encoded.clear()

    def _require(self):
        if self._loaded is None:
            raise self._not_loaded()
        return self._loaded

    # ----------------------------------------------------------------- facts for front ends
    @property
    def label_nc(self) -> int:
        return self._require().layout.label_nc

    @property
    def label_set(self) -> str | None:
        return self._require().label_set

    @property
    def uses_instance_edges(self) -> bool:
        return self._require().layout.instance_edge

    @property
    def feat_num(self) -> int:
        """Feature channels of the generator input (0: the checkpoint takes no per-instance features)."""
        return self._require().layout.feat_num

    @property
    def has_encoder(self) -> bool:
        return self._require().encoder is not None

    @property
    def has_clusters(self) -> bool:
        return self._require().clusters is not None

    def cluster_labels(self) -> list[int]:
        """Class ids that have feature clusters."""
        clusters = self._require().clusters or {}
        return sorted(k for k, v in clusters.items() if len(v))

    def cluster_count(self, label: int) -> int:
        """Number of feature clusters of class ``label`` (0 when it has none or there is no cluster file)."""
        clusters = self._require().clusters or {}
        centres = clusters.get(int(label))
        return 0 if centres is None else int(centres.shape[0])

    def network_size(self, label_shape: tuple[int, int]) -> tuple[int, int]:
        h, w = label_shape
        return self._require().preprocessing.output_size((w, h))

    def size_multiple(self) -> int | None:
        """The generator's size base, and the feature encoder's 2**n_downsample_E where it has one."""
        loaded = self._require()
        step = loaded.generator_arch.size_base
        if loaded.encoder_arch is not None:
            step = math.lcm(step, 2**loaded.encoder_arch.n_downsample_E)
        return step

    # ----------------------------------------------------------------- rendering
    def generate(self, request: RenderRequest) -> RenderResult:
        import torch

        from regionpaint.engines.acceleration.fast import fast_input, render_math

        start = time.perf_counter()
        loaded = self._require()
        with torch.inference_mode(), render_math(self._torch_device, self.allow_tf32, request.fast):
            net_input, info, codes = self._network_input(request)
            net_input = fast_input(net_input, request.fast)
            out = self._compiled(net_input) if request.fast and request.compile else None
            info["compiled"] = out is not None
            if out is None:
                out = loaded.generator(net_input, self._convs, self._input_head(codes, net_input))
            image = output_to_image(out)
            out = out.float().cpu().contiguous()
        info["size"] = (out.shape[3], out.shape[2])
        return RenderResult(image, out, time.perf_counter() - start, info)

    def _input_head(self, codes: Any, net_input: Any) -> Any | None:
        """The generator's first convolution of the one-hot labels (and edges) as a lookup of ``codes``.

        4-10x faster than the float32 convolution and 2-6x the bfloat16 one at 512x256 on a 2-core AMD CPU
        (``python -m bench --only winograd``), exact to float32 rounding in both modes; which one runs is
        measured per shape and mode on the machine at hand ("onehot_head": "lookup" or "conv", see
        :mod:`regionpaint.engines.acceleration.autotune`), the lookup being the guess. None (the convolution
        runs on ``net_input``) when the input has feature channels (not one-hot), off the CPU (not measured
        there), or where the convolution measured faster.
        """
        import torch
        import torch.nn.functional as F

        from regionpaint.engines.acceleration import autotune
        from regionpaint.engines.acceleration.onehot_conv import OneHotConv
        from regionpaint.engines.pix2pixhd.networks import input_head

        if codes is None or codes.device.type != "cpu":
            return None
        if self._head is None:
            layout = self._require().layout
            self._head = OneHotConv(input_head(self._require().generator), layout.label_nc, layout.instance_edge)
        head = self._head

        def lookup() -> Any:
            with torch.autocast(codes.device.type, enabled=False):
                return head(codes)

        def conv() -> Any:
            return head.conv(F.pad(net_input, (head.pad,) * 4, mode="reflect"))

        math = autotune.TorchMath.current(codes.device.type)
        dtype = str(math.autocast_dtype or net_input.dtype).removeprefix("torch.")
        shape = f"{head.n_codes}>{head.conv.out_channels} k{head.conv.kernel_size[0]} {tuple(codes.shape)} {dtype}"
        choice = autotune.choose(
            "onehot_head", shape, lambda: autotune.under(math, {"lookup": lookup, "conv": conv}), "lookup"
        )
        return lookup() if choice == "lookup" else None

    def _compiled(self, net_input: Any) -> Any | None:
        """The compiled fast generator's output when its compile for this shape is done, else None."""
        from regionpaint.engines.acceleration.compiled import fast_compiler, preferred_backend, shape_key

        if self._compiler is None:
            device = self._torch_device
            # OpenVINO where asked for: 0.62 s vs inductor's 0.73 s at 512x256 on a 2-core AVX-512-BF16 CPU.
            backend = preferred_backend(device, measured_openvino=True)
            generator = self._require().generator
            self._compiler = fast_compiler(generator, device, self.allow_tf32, self.display_name, backend)
        return self._compiler.run(shape_key(net_input), (net_input,))

    def _check_label_ids(self, label: np.ndarray) -> None:
        loaded = self._require()
        check_label_ids(label, loaded.layout.label_nc, "pix2pixHD", label_set=loaded.label_set)

    def _instance_for(self, request: RenderRequest, label: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        info: dict[str, Any] = {}
        if request.instance is None:
            # The official loader always has an instance map; the label map is the natural stand-in
            # (Cityscapes stuff classes use their class id as instance id).
            layout = self._require().layout
            if layout.instance_edge or (layout.feat_num and layout.feature_ids == "instance"):
                log.info("no instance map given: using the label map as instance ids")
                info["instance_from_label"] = True
            return label, info
        instance = id_map(request.instance, "instance map")
        if instance.shape != label.shape:
            raise InputError(
                f"instance map is {instance.shape[1]}x{instance.shape[0]} but the label map is "
                f"{label.shape[1]}x{label.shape[0]}; they must have the same size"
            )
        return instance, info

    def _target(self, request: RenderRequest, label: np.ndarray) -> tuple[tuple[int, int], tuple[int, int] | None]:
        """((W, H) network size, crop position or None for an explicit ``request.size``)."""
        loaded = self._require()
        if request.size is None:
            h, w = label.shape
            crop_pos = loaded.preprocessing.crop_position((w, h), request.seed)
            return loaded.preprocessing.output_size((w, h)), crop_pos
        try:
            w, h = (int(v) for v in request.size)
        except (TypeError, ValueError) as exc:
            raise InputError(f"size must be (width, height), got {request.size!r}") from exc
        base = loaded.generator_arch.size_base
        if w <= 0 or h <= 0 or w % base or h % base:
            raise InputError(f"size {w}x{h}: this pix2pixHD network needs positive multiples of {base}")
        return (w, h), None

    def _ids_to_size(self, ids: np.ndarray, size: tuple[int, int], crop_pos, explicit: bool) -> np.ndarray:
        if explicit:
            return resize_nearest(ids, size)
        return self._require().preprocessing.ids(ids, crop_pos)

    def _photo_to_size(self, photo: np.ndarray, label_shape, size: tuple[int, int], crop_pos) -> np.ndarray:
        # A photo of the label's own size goes through the same pipeline (same crop); any other photo
        # is resized straight to the network size.
        if crop_pos is not None and photo.shape[:2] == tuple(label_shape):
            return self._require().preprocessing.photo(photo, crop_pos)
        return resize_bicubic(photo, size)

    def _feature_map(self, request: RenderRequest, label_shape, crop_pos, ids: np.ndarray, info: dict):
        """(1, feat_num, H, W) feature channels on the device, from a photo or from the clusters."""
        import torch

        from regionpaint.engines.pix2pixhd.features import sample_feature_map

        loaded = self._require()
        h, w = ids.shape
        if request.feature_source is not None:
            source = request.styles.get(request.feature_source)
            if source is None:
                raise InputError(f"feature source {request.feature_source!r} is not among the style sources")
            photo = rgb_image(source.image, f"feature source {source.name!r}")
            net_photo = self._photo_to_size(photo, label_shape, (w, h), crop_pos)
            info["feature_source"] = source.name
            return self._encode(source.name, net_photo, ids)
        if loaded.clusters is not None:
            feat, picks = sample_feature_map(
                ids,
                loaded.clusters,
                loaded.layout.feat_num,
                request.seed,
                request.instance_clusters,
                request.class_clusters,
            )
            info["feature_picks"] = picks.picks
            if picks.missing_classes:
                info["classes_without_clusters"] = picks.missing_classes
            return torch.from_numpy(feat)[None].to(self._torch_device)
        raise InputError(
            "this pix2pixHD checkpoint takes per-instance features: give a feature source photo "
            "(needs latest_net_E.pth) or put a features_clustered_*.npy next to the checkpoint"
        )

    def _encode(self, name: str, photo: np.ndarray, ids: np.ndarray):
        """Encoder output averaged per id of ``ids``: (1, feat_num, H, W). The raw output is cached."""
        import torch

        from regionpaint.engines.layers.tensors import ids_to_tensor, image_to_tensor
        from regionpaint.engines.pix2pixhd.features import instance_mean

        loaded = self._require()
        if loaded.encoder is None:
            raise InputError("this checkpoint has no feature encoder (latest_net_E.pth): use the feature clusters")
        step = 2**loaded.encoder_arch.n_downsample_E
        h, w = photo.shape[:2]
        if h % step or w % step:
            raise InputError(f"network size {w}x{h}: the feature encoder needs multiples of {step}")
        key = (name, content_digest(photo))
        raw = self._encoded.get(key)
        if raw is None:
            if not photo.flags.writeable:  # PIL-backed arrays are read-only; torch wants writable memory
                photo = photo.copy()
            raw = loaded.encoder.raw(image_to_tensor(photo).to(self._torch_device))
            self._encoded.put(key, raw)
        with torch.inference_mode():
            return instance_mean(raw, ids_to_tensor(ids).to(self._torch_device))

    # ----------------------------------------------------------------- features for front ends
    def encode_style(self, source: StyleSource) -> dict[int, np.ndarray]:
        """Per-instance features of a photo: {instance id (class id with label_feat): (feat_num,) float32}.

        Uses the source's own instance map (its label map with ``label_feat`` or when it has none),
        after the checkpoint's preprocessing.
        """
        import torch

        from regionpaint.engines.device import float32_math

        net_ids, photo = self._source_at_network_size(source)
        with torch.inference_mode(), float32_math(self._torch_device, self.allow_tf32):
            feat = self._encode(source.name, photo, net_ids)[0].cpu().numpy()
        # Averaged features are constant per id: read each id's vector at its first pixel.
        unique, first = np.unique(net_ids.reshape(-1), return_index=True)
        vectors = feat.reshape(feat.shape[0], -1)[:, first]
        return {int(i): vectors[:, n].copy() for n, i in enumerate(unique.tolist())}

    def _source_at_network_size(self, source: StyleSource) -> tuple[np.ndarray, np.ndarray]:
        """A source's ids and photo through the checkpoint's preprocessing (same crop for both)."""
        pre = self._require().preprocessing
        ids = self._source_ids(source)
        crop_pos = pre.crop_position((ids.shape[1], ids.shape[0]), None)
        return pre.ids(ids, crop_pos), pre.photo(rgb_image(source.image, source.name), crop_pos)

    def _source_ids(self, source: StyleSource) -> np.ndarray:
        layout = self._require().layout
        ids = source.label if (layout.feature_ids == "label" or source.instance is None) else source.instance
        if ids is None:
            raise InputError(f"style source {source.name!r} needs an instance or label map to encode features")
        ids = id_map(ids, f"ids of style source {source.name!r}")
        if ids.shape != np.asarray(source.image).shape[:2]:
            raise InputError(f"style source {source.name!r}: id map and photo sizes differ")
        return ids

    def compute_clusters(
        self,
        sources: Iterable[StyleSource],
        n_clusters: int = 10,
        seed: int = 0,
        path: str | Path | None = None,
    ) -> dict[int, np.ndarray]:
        """The official ``encode_features.py``: encode photos, one row per instance, k-means per class.

        Uses this engine's (numpy, seeded) k-means instead of sklearn's. The centres replace the
        loaded clusters; with ``path`` they are also written in the official ``.npy`` format.
        """
        import torch

        from regionpaint.engines.device import float32_math
        from regionpaint.engines.pix2pixhd.clusters import cluster_features, merge_rows, save_clusters
        from regionpaint.engines.pix2pixhd.features import instance_feature_rows

        loaded = self._require()
        if loaded.encoder is None:
            raise EngineError("computing feature clusters needs the feature encoder (latest_net_E.pth)")
        parts = []
        for source in sources:
            net_ids, photo = self._source_at_network_size(source)
            with torch.inference_mode(), float32_math(self._torch_device, self.allow_tf32):
                feat = self._encode(source.name, photo, net_ids)[0].cpu().numpy()
            parts.append(instance_feature_rows(feat, net_ids, loaded.layout.label_nc))
        centres = cluster_features(merge_rows(parts), n_clusters=n_clusters, seed=seed)
        loaded.clusters = centres
        if path is not None:
            save_clusters(path, centres)
        return centres

    # ----------------------------------------------------------------- batched rendering (regionpaint batch)
    def generate_batch(self, requests: Sequence[RenderRequest]) -> list[RenderResult]:
        """Render many requests with one generator call per group of equal network size.

        Each result equals :meth:`generate` of its request within float32 rounding (batched convolutions
        may sum in another order); the per-request preprocessing, feature picks and info are the same.
        """
        import torch

        from regionpaint.engines.device import float32_math

        if any(request.fast for request in requests):  # fast mode renders one by one, exactly as render --fast
            return [self.generate(request) for request in requests]
        start = time.perf_counter()
        loaded = self._require()
        results: list[RenderResult | None] = [None] * len(requests)
        with torch.inference_mode(), float32_math(self._torch_device, self.allow_tf32):
            inputs = [self._network_input(request) for request in requests]
            groups: dict[tuple[int, ...], list[int]] = {}
            for index, (tensor, _info, _codes) in enumerate(inputs):
                groups.setdefault(tuple(tensor.shape), []).append(index)
            for indices in groups.values():
                batch = torch.cat([inputs[i][0] for i in indices])
                codes = [inputs[i][2] for i in indices]
                head = None if codes[0] is None else self._input_head(torch.cat(codes), batch)
                out = loaded.generator(batch, self._convs, head)
                for row, i in enumerate(indices):
                    single = out[row : row + 1]
                    info = inputs[i][1]
                    info.update(size=(single.shape[3], single.shape[2]), batched=True)
                    results[i] = RenderResult(output_to_image(single), single.float().cpu(), 0.0, info)
        seconds = (time.perf_counter() - start) / max(1, len(requests))
        for result in results:
            result.seconds = seconds
        return results

    def _network_input(self, request: RenderRequest) -> tuple[Any, dict[str, Any], Any | None]:
        """The generator input (1, C, H, W) of :meth:`generate` for ``request``, its info, and its codes.

        codes: (1, H, W) int64 for :meth:`_input_head` when the input is one-hot labels (and edges)
        only, else None.
        """
        import torch

        from regionpaint.engines.acceleration.onehot_conv import one_hot_codes
        from regionpaint.engines.layers.tensors import ids_to_tensor, instance_edges, one_hot

        loaded = self._require()
        layout, arch = loaded.layout, loaded.generator_arch
        label = id_map(request.label, "label map")
        self._check_label_ids(label)
        instance, info = self._instance_for(request, label)
        size, crop_pos = self._target(request, label)
        net_label = self._ids_to_size(label, size, crop_pos, request.size is not None)
        net_inst = self._ids_to_size(instance, size, crop_pos, request.size is not None)
        h, w = net_label.shape
        if arch.netG == "local" and (h % arch.size_base or w % arch.size_base):
            raise InputError(
                f"network size {w}x{h}: a LocalEnhancer needs both sides to be multiples of {arch.size_base}"
            )
        device = self._torch_device
        label_ids = ids_to_tensor(net_label).to(device)
        parts = [one_hot(label_ids, layout.label_nc)]
        if layout.instance_edge:
            parts.append(instance_edges(ids_to_tensor(net_inst).to(device)))
        codes = None
        if layout.label_nc and not layout.feat_num:
            codes = one_hot_codes(label_ids[:, 0], parts[1][:, 0] if layout.instance_edge else None)
        if layout.feat_num:
            feature_ids = net_label if layout.feature_ids == "label" else net_inst
            parts.append(self._feature_map(request, label.shape, crop_pos, feature_ids, info))
        info.update(input_size=(w, h), netG=arch.netG, label_set=loaded.label_set)
        if crop_pos is not None and loaded.preprocessing.crops:
            info["crop_position"] = crop_pos
        return torch.cat(parts, dim=1), info, codes
