"""The engine contract: what every rendering engine, built-in or third-party, implements.

An engine class is registered through the ``register_engines`` plugin hook. Its module must be
importable without torch (class attributes are read to list engines); torch and the networks are
imported inside :meth:`Engine.load`.

Data crossing this boundary is numpy, so front ends (CLI, editor) never import torch:

* label maps: ``(H, W)`` integer class ids (uint8 or wider), at the original resolution or
  already at network size; the engine applies the official preprocessing either way.
* instance maps: ``(H, W)`` integer instance ids (Cityscapes-style: ``class*1000 + k``).
* images: ``(H, W, 3)`` uint8 RGB.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from regionpaint.engines.schema import Option
from regionpaint.types import ENGINE_STYLE_PREFIX, StyleMix  # noqa: F401  (part of the contract)


class EngineError(Exception):
    """A problem the user can fix (bad checkpoint, bad input); the message names the file and the problem."""


class CheckpointError(EngineError):
    """A checkpoint that cannot be loaded: wrong engine, missing/unexpected keys, shapes, truncated file."""


class InputError(EngineError):
    """A render input that does not fit the checkpoint (label ids out of range, sizes, missing style)."""


# Capability names an engine may declare (front ends enable controls from these).
REGION_STYLES = "region_styles"  # per-region style codes from style sources (SEAN)
STYLE_INTERPOLATION = "style_interpolation"  # weighted mixes of sources per region
CROSSOVER = "crossover"  # a different style source per residual block (SEAN)
MEAN_STYLE = "mean_style"  # per-class mean style codes ("reset"/"random")
LATENT_Z = "latent_z"  # a global z (SPADE with VAE)
INSTANCE_MAP = "instance_map"  # uses an instance map (boundary channel)
INSTANCE_FEATURES = "instance_features"  # per-instance features (pix2pixHD encoder / clusters)
NOISE = "noise"  # stochastic noise that can be switched off / seeded (SEAN)

# Style source names an engine provides itself, under MEAN_STYLE: the per-class mean code of the engine's
# style statistics, and a code drawn around it with the request's seed. Documents know only the prefix.
MEAN_STYLE_SOURCE = "@mean"
RANDOM_STYLE_SOURCE = "@random"
ENGINE_STYLE_SOURCES = (MEAN_STYLE_SOURCE, RANDOM_STYLE_SOURCE)

# Options an engine with INSTANCE_FEATURES reads from ``request.options`` (documents store them under
# these names): cluster index per instance id / per class id (JSON maps), and the style source whose
# photo the encoder turns into features. The editor's object-features panel edits them.
INSTANCE_CLUSTERS_OPTION = "instance_clusters"
CLASS_CLUSTERS_OPTION = "class_clusters"
FEATURE_SOURCE_OPTION = "feature_source"
CAPABILITY_OPTIONS: dict[str, tuple[str, ...]] = {
    "instance_features": (INSTANCE_CLUSTERS_OPTION, CLASS_CLUSTERS_OPTION, FEATURE_SOURCE_OPTION),
}

ALL_CAPABILITIES = (
    REGION_STYLES,
    STYLE_INTERPOLATION,
    CROSSOVER,
    MEAN_STYLE,
    LATENT_Z,
    INSTANCE_MAP,
    INSTANCE_FEATURES,
    NOISE,
)


@dataclass
class StyleSource:
    """A named style source: a photo and, for engines that need it, that photo's segmentation."""

    name: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    label: np.ndarray | None = None  # (H, W) class ids of `image`
    instance: np.ndarray | None = None  # (H, W) instance ids of `image` (pix2pixHD features)


@dataclass
class RenderRequest:
    """Everything one render needs; built by the CLI or the editor from a document.

    ``region_styles`` maps a class id to a weighted mix of named sources. Classes absent from it use
    ``default_style`` (the first source when the caller gave sources but no mapping). ``crossover``
    maps a residual block name (e.g. ``"head_0"``, ``"up_1"``) to the source that styles every region
    in that block, overriding ``region_styles`` there.
    """

    label: np.ndarray
    instance: np.ndarray | None = None
    styles: Mapping[str, StyleSource] = field(default_factory=dict)
    region_styles: Mapping[int, StyleMix] = field(default_factory=dict)
    default_style: StyleMix | None = None
    crossover: Mapping[str, str] = field(default_factory=dict)
    z: np.ndarray | None = None  # (1, z_dim) float32, SPADE-VAE
    sample: bool = False  # draw z (or encoder sample) with `seed` instead of using the mean
    seed: int | None = None
    noise: bool = True
    size: tuple[int, int] | None = None  # (W, H) network size; None = the checkpoint's own
    # pix2pixHD feature picking: cluster index per instance id, or per class id.
    instance_clusters: Mapping[int, int] = field(default_factory=dict)
    class_clusters: Mapping[int, int] = field(default_factory=dict)
    # Style source whose photo is encoded into per-instance features (pix2pixHD encoder).
    feature_source: str | None = None
    # The label set the label ids belong to ("celebamask-hq", "cityscapes", ...), when the caller knows it.
    label_set: str | None = None
    # Engine-specific options, checked against the engine's ``options`` schema (engines/schema.py).
    options: Mapping[str, Any] = field(default_factory=dict)
    # Fast mode: reduced precision / compiled paths allowed (PSNR >= 40 dB against exact); exact by default.
    fast: bool = False
    # With ``fast``: use a torch.compile'd forward of this input shape once it is ready (compiled on a
    # background thread: engines/acceleration/compiled.py); the eager fast path renders until then.
    compile: bool = False


@dataclass
class RenderResult:
    image: np.ndarray  # (H, W, 3) uint8 RGB, official tensor2im (truncating) conversion
    # torch.Tensor (1, 3, H, W) float32 on CPU, raw generator output after tanh; engines without torch
    # may give a numpy array of that shape in [-1, 1], or None.
    tensor: Any
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckpointInfo:
    """What can be read from a checkpoint without building a network.

    ``files`` maps roles to paths: ``"G"`` (generator weights), optionally ``"E"`` (encoder weights),
    ``"features"`` (pix2pixHD ``features_clustered_*.npy``), ``"opt"`` (opt.txt), ``"sidecar"``.
    ``shapes`` maps each generator state-dict key to its shape; ``opt`` holds opt.txt (or sidecar)
    options as strings.
    """

    path: Path
    files: dict[str, Path]
    opt: dict[str, str]
    shapes: dict[str, tuple[int, ...]]
    encoder_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    declared_engine: str | None = None  # from a safetensors sidecar, or the engine whose ``locate`` claimed it


class Engine(abc.ABC):
    """Base class of all engines. Subclasses set the class attributes and implement the methods."""

    id: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    label_sets: ClassVar[tuple[str, ...]] = ()  # label set ids the engine is known to be used with
    # Residual block names, in forward order, for engines with CROSSOVER.
    style_blocks: ClassVar[tuple[str, ...]] = ()
    # What each style block changes, in a person's words ("Coarse shape", "Fine texture"); front ends show
    # these and keep the block name for the tooltip. Blocks left out get a title from their place in the order.
    style_block_titles: ClassVar[Mapping[str, str]] = {}
    # Engine-specific render options (engines/schema.py); front ends generate flags and controls from it.
    options: ClassVar[tuple[Option, ...]] = ()
    # False for engines that render without trained weights: front ends then run them with no checkpoint.
    needs_checkpoint: ClassVar[bool] = True
    # CUDA only: let convolutions and matmuls use TF32 (faster on Ampere+, ~1e-3 off the official float32
    # outputs). Faithfulness first: off; set it on an instance, or render in fast mode, to allow it.
    allow_tf32: bool = False

    @classmethod
    def capabilities_for(cls, info: CheckpointInfo | None) -> frozenset[str]:
        """What this checkpoint offers (a subset of ``capabilities``), decided from ``info`` before loading.

        The default is the class's capabilities; engines whose checkpoints differ (SPADE with or without
        a VAE encoder, pix2pixHD with or without an instance-feature encoder) narrow it.
        """
        return frozenset(cls.capabilities)

    @classmethod
    def fit_request(cls, request: RenderRequest, capabilities: frozenset[str]) -> RenderRequest:
        """Apply what this engine's options (``request.options``, schema-checked) mean to the request.

        Called by the render service after inputs of undeclared capabilities were dropped; returns a new
        request (or the same one). The default changes nothing.
        """
        return request

    def set_mean_styles(self, sources: Sequence[StyleSource] | None) -> None:
        """MEAN_STYLE engines: per-class mean (and spread) codes from ``sources``; None keeps the
        checkpoint's own statistics (or none). Called before a render that may use ``@mean``/``@random``."""
        raise EngineError(f"{self.display_name} provides no mean styles")

    @property
    def checkpoint_capabilities(self) -> frozenset[str]:
        """What the loaded checkpoint offers; front ends enable controls from this, not from the class."""
        return frozenset(getattr(self, "_checkpoint_capabilities", self.capabilities))

    @classmethod
    def locate(cls, path: Path) -> CheckpointInfo | None:
        """Claim a checkpoint in this engine's own layout (a folder with ``model.pt`` + ``config.json``, a
        ``.ckpt`` file, ...): its :class:`CheckpointInfo`, or None when ``path`` is not in that layout.

        The host asks every engine that overrides this before its generic rules (official folders,
        ``.pth``, ``.safetensors`` + sidecar), and always asks the engine ``--engine`` names. Return None
        for anything plainly not yours; raise :class:`CheckpointError` naming the file for a checkpoint in
        your layout that is broken (a missing weights file): that message reaches the person as it is.
        Decide from file names and small files only (no weights read, no torch import: the editor's
        checkpoint picker asks while it lists folders). Every path in ``files`` must be a regular file; the
        host checks before :meth:`load` runs. The default claims nothing.
        """
        return None

    @classmethod
    @abc.abstractmethod
    def recognizes(cls, info: CheckpointInfo) -> bool:
        """True when the checkpoint was made for this engine (decided from keys/opt, no weights built)."""

    @abc.abstractmethod
    def load(self, checkpoint: str | Path, device: str = "auto") -> None:
        """Build the networks from a checkpoint folder or file and move them to ``device``.

        ``checkpoint`` is None for an engine with ``needs_checkpoint = False`` when none was chosen.
        Raises :class:`CheckpointError` naming the file and the first offending key. The built-in engines
        inherit it from :class:`regionpaint.engines.loading.checkpoint_engine.CheckpointEngine` (the shared pipeline).
        """

    @abc.abstractmethod
    def generate(self, request: RenderRequest) -> RenderResult:
        """Run the official preprocessing and the generator. Raises :class:`InputError` on bad input."""

    def generate_batch(self, requests: Sequence[RenderRequest]) -> list[RenderResult]:
        """Render several requests; results in order, each equal to :meth:`generate` of its request.

        The default renders one after another; engines override it with one batched forward pass.
        Raises :class:`InputError` for the first bad request (callers retry one by one to find it).
        """
        return [self.generate(request) for request in requests]

    def encode_style(self, source: StyleSource) -> Any:
        """Per-engine style encoding of one source (SEAN: (label_nc, style_length) codes). Cached by callers."""
        raise EngineError(f"{self.display_name} does not encode styles")

    def network_size(self, label_shape: tuple[int, int]) -> tuple[int, int]:
        """(W, H) the network renders for a label of ``label_shape`` (H, W) under the checkpoint's options."""
        raise NotImplementedError

    def size_multiple(self) -> int | None:
        """Widths and heights of a render at another size than :meth:`network_size` must be multiples of this
        (for the loaded checkpoint); None when not known or when the checkpoint renders only its own size.

        Front ends use it to suggest a size the network accepts (e.g. after running out of memory).
        """
        return None

    def release(self) -> None:
        """Free the networks and any device memory they hold (engines override :meth:`_drop_networks`)."""
        device = self.device
        self._drop_networks()
        if device.startswith("cuda"):
            import torch  # only here: a CUDA device means torch is loaded already

            torch.cuda.empty_cache()

    def _drop_networks(self) -> None:
        """Forget the loaded networks and every cache that belongs to them."""

    def _not_loaded(self) -> EngineError:
        """The error of a render or save before :meth:`load`."""
        return EngineError(f"{self.display_name}: no checkpoint loaded (call load() first)")

    def save(self, path: str | Path) -> Path:
        """Write the loaded weights as ``.safetensors`` + JSON sidecar (official keys under role prefixes,
        the engine id, label set and options); returns the file written. Engines provide the contents."""
        from regionpaint.engines.loading.checkpoint import save_safetensors

        networks, label_set, options = self._save_contents(path)
        return save_safetensors(path, networks, self.id, label_set, options)

    def _save_contents(self, path: str | Path) -> tuple[Mapping[str, Mapping[str, Any]], str | None, Mapping[str, Any]]:
        """({role: state dict}, label set, options) that :meth:`save` writes."""
        raise EngineError(f"{self.display_name} cannot save its weights")

    @property
    def device(self) -> str:
        return getattr(self, "_device", "cpu")
