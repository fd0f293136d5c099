"""The segmenter contract: a photo in, a label map in one label set's ids out.

A segmenter is registered as a class through the ``register_segmenters(register)`` hook; listing
segmenters reads class attributes only, so this module (and the module defining a segmenter class)
must not import torch at the top. A segmenter is used as::

    segmenter = SegmenterClass()
    segmenter.load(weights_path, device="cpu")     # the user's file; never downloaded
    label = segmenter.segment(photo)                # (H, W, 3) uint8 RGB -> (H, W) uint8 class ids
    label = segmenter.segment(photo, size="native", fast=True)  # where the segmenter has sizes; bf16/fp16

The load pipeline lives here (read the file safely → unwrap → build the network → strict load → device);
a network slice fills in ``build_network``, ``preprocess`` and ``postprocess``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from regionpaint.engines.base import CheckpointError, InputError

log = logging.getLogger(__name__)

#: Prefixes that training wrappers put in front of every key (``nn.DataParallel``, DDP).
_WRAPPER_PREFIXES = ("module.",)
#: Batch-norm buffers that checkpoints saved before torch 0.4.1 lack; they do not affect inference.
_OPTIONAL_BUFFER = "num_batches_tracked"


class SegmenterError(CheckpointError):
    """A segmenter that cannot run: missing or wrong weights, a photo it cannot take."""


class Segmenter:
    """Base class of segmenters; subclasses set the class attributes and fill in the network steps.

    Class attributes (read without loading anything):

    - ``id``: short unique name (``"bisenet-face"``), used by ``--segmenter``
    - ``display_name``: what the editor shows
    - ``label_set``: id of the label set whose ids ``segment`` returns (``"celebamask-hq"``)
    - ``needs_weights``: False for segmenters that need no file
    - ``weights_hint``: the file users usually have (shown in help and errors)
    - ``eval_ids``: label ids that fidelity scores count (empty: every class of the label set)
    - ``sizes``: the input sizes ``segment(size=...)`` (``--size``) names, the default first; empty: the
      network runs at one fixed input size (see :meth:`check_size`)
    """

    id: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    label_set: ClassVar[str] = ""
    needs_weights: ClassVar[bool] = True
    weights_hint: ClassVar[str] = ""
    eval_ids: ClassVar[tuple[int, ...]] = ()
    sizes: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.network: Any = None
        self.device = "cpu"
        self.weights: Path | None = None
        self._fast_network: Any = None  # built on the first fast call (see fast_network)

    # -- loading ---------------------------------------------------------------------------------
    def load(self, weights: str | Path | None, device: str = "cpu") -> None:
        """Read ``weights`` (a ``.pth``/``.pt`` state dict or ``.safetensors``) onto ``device``.

        Raises SegmenterError naming the file when it is missing, unreadable or not this network.
        """
        import torch

        if weights is None:
            if self.needs_weights:
                raise SegmenterError(f"{self.id}: needs a weights file ({self.weights_hint or 'a .pth state dict'})")
            state = None
        else:
            path = Path(weights)
            if not path.is_file():
                raise SegmenterError(f"{path}: no such weights file (segmenter {self.id} wants {self.weights_hint})")
            state = read_state_dict(path)
        network = self.build_network()
        if state is not None:
            state = self.normalise_state_dict(state, network)
            load_strict(network, state, Path(weights), self.display_name)
        network.eval()
        # Channels-last lets oneDNN/cuDNN pick faster convolution kernels (CPU: BiSeNet ~25 % faster).
        self.network = network.to(torch.device(device), memory_format=torch.channels_last)
        self._fast_network = None
        self.device = device
        self.weights = None if weights is None else Path(weights)

    def normalise_state_dict(self, state: dict[str, Any], network: Any) -> dict[str, Any]:
        """Undo what training wrappers do to keys; fill buffers that old checkpoints lack."""
        for prefix in _WRAPPER_PREFIXES:
            if state and all(key.startswith(prefix) for key in state):
                state = {key[len(prefix) :]: value for key, value in state.items()}
        expected = network.state_dict()
        for key, value in expected.items():
            if key.endswith(_OPTIONAL_BUFFER) and key not in state:
                state[key] = value.clone()
        return state

    # -- running ---------------------------------------------------------------------------------
    def segment(self, photo: np.ndarray, size: str | None = None, fast: bool = False) -> np.ndarray:
        """Label a photo: (H, W, 3) uint8 RGB -> (H, W) uint8 ids of :attr:`label_set`.

        ``size``: one of :attr:`sizes` (see :meth:`check_size`); None: the segmenter's default.
        ``fast``: the engines' fast dtype (bfloat16 on CPU, float16 on CUDA; see :meth:`fast_network`); the
        labels agree with the exact ones on nearly every pixel (``python -m bench --only segment_speed``
        measures the share).
        """
        import torch

        from regionpaint.engines.device import float32_math

        if self.network is None:
            raise SegmenterError(f"{self.id}: load() the weights before segmenting")
        photo = check_photo(photo)
        size = self.check_size(size)
        with torch.inference_mode(), float32_math(self.device):
            prepared = self.preprocess(photo) if size is None else self.preprocess(photo, size=size)
            batch = prepared.to(self.device, memory_format=torch.channels_last)
            network = self.network
            if fast:
                network, dtype = self.fast_network()
                batch = batch.to(dtype)
            logits = network(batch).float()
            if tuple(logits.shape[2:]) != photo.shape[:2]:  # at the photo's size already: nothing to resample
                logits = torch.nn.functional.interpolate(
                    logits, size=photo.shape[:2], mode="bilinear", align_corners=False
                )
            classes = logits.argmax(1)[0].to("cpu").numpy()
        return self.postprocess(classes)

    def fast_network(self) -> tuple[Any, Any]:
        """(network, dtype) of fast mode, built once per load: a copy of the network with every batch norm
        folded into the convolution before it and all weights in the device's fast dtype
        (:func:`regionpaint.engines.acceleration.fast.fast_dtype`).

        Why not autocast, as the engines do: autocast re-casts every weight on every call (DRN-D-105: 40 M
        weights, 16 % of a native 512x256 call) and runs batch norm, ReLU and the residual adds in float32
        between bfloat16 convolutions; this network does none of that (CPU seconds of DRN-D-105 at 512x256:
        1.8-3.1 against autocast's 3.7-4.4 and exact's 4.5-5.4, measured side by side on a loaded 2-core
        machine). A network torch.fx cannot trace keeps its batch norms (only the dtype changes)."""
        if self._fast_network is None:
            import copy

            import torch

            from regionpaint.engines.acceleration.fast import fast_dtype

            dtype = fast_dtype(self.device)
            try:
                from torch.fx.experimental.optimization import fuse

                folded = fuse(self.network)  # a copy; the exact network stays as it is
            except Exception as exc:  # noqa: BLE001 - any tracing failure: the unfolded copy is still right
                log.debug("%s: batch norms not folded for fast mode (%s)", self.id, exc)
                folded = copy.deepcopy(self.network)
            self._fast_network = (folded.to(dtype=dtype, memory_format=torch.channels_last), dtype)
        return self._fast_network

    @classmethod
    def check_size(cls, size: str | None) -> str | None:
        """``size`` as :meth:`segment` takes it, or SegmenterError saying what this segmenter accepts.

        None or "" is the default. A segmenter with :attr:`sizes` overrides :meth:`size_error` to accept
        more than the listed names (DRN takes any width in a range)."""
        if size is None or size == "":
            return None
        size = str(size).strip().lower()
        if not cls.sizes:
            raise SegmenterError(f"--size {size}: segmenter {cls.id} runs at its one input size (no --size)")
        problem = cls.size_error(size)
        if problem:
            raise SegmenterError(f"--size {size}: {problem}")
        return size

    @classmethod
    def size_error(cls, size: str) -> str:
        """Why ``size`` is not one of this segmenter's sizes ("" when it is)."""
        if size in cls.sizes:
            return ""
        return f"segmenter {cls.id} takes {', '.join(cls.sizes)} (default {cls.sizes[0]})"

    # -- what a network slice fills in -----------------------------------------------------------
    def build_network(self) -> Any:
        """The torch module, with random weights, in the checkpoint's exact key layout."""
        raise NotImplementedError

    def preprocess(self, photo: np.ndarray) -> Any:
        """(H, W, 3) uint8 -> (1, 3, h, w) float tensor as the network's public code prepares it.

        A segmenter with :attr:`sizes` also takes ``size=`` (a checked, non-default size)."""
        raise NotImplementedError

    def postprocess(self, classes: np.ndarray) -> np.ndarray:
        """(H, W) network class indices -> (H, W) uint8 ids of :attr:`label_set`."""
        return classes.astype(np.uint8)

    def release(self) -> None:
        """Free the network (and its device memory)."""
        self.network = None
        self._fast_network = None


def check_photo(photo: np.ndarray) -> np.ndarray:
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise InputError(f"a photo must be an (H, W, 3) uint8 RGB array, got {photo.shape} {photo.dtype}")
    if min(photo.shape[:2]) < 8:
        raise InputError(f"photo of {photo.shape[1]}x{photo.shape[0]} pixels is too small to segment")
    return photo


def read_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from ``.safetensors`` or ``torch.save`` (``weights_only``: never unpickles code).

    Accepts the shapes training scripts save: a bare state dict, or one under ``"state_dict"`` /
    ``"model"`` next to bookkeeping values (epoch, best score).
    """
    import torch

    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise SegmenterError(f"{path}: cannot read safetensors ({exc})") from exc
    import pickle

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own message advises weights_only=False, which would run code from the file: never.
        raise SegmenterError(
            f"{path}: cannot read weights (not a torch weights file, or one holding more than tensors and "
            "plain values, which regionpaint never unpickles)"
        ) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SegmenterError(f"{path}: cannot read weights ({reason}); is it a complete .pth file?") from exc
    if isinstance(loaded, Mapping):
        for key in ("state_dict", "model"):
            inner = loaded.get(key)
            if isinstance(inner, Mapping):
                loaded = inner
                break
    if not isinstance(loaded, Mapping) or not loaded or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise SegmenterError(f"{path}: not a state dict of tensors")
    return dict(loaded)


def load_strict(network: Any, state: dict[str, Any], path: Path, what: str) -> None:
    """Load every key with its exact shape, or raise SegmenterError naming the file and the first problems."""
    expected = network.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    wrong = [
        f"{key} {tuple(state[key].shape)} (want {tuple(value.shape)})"
        for key, value in expected.items()
        if key in state and tuple(state[key].shape) != tuple(value.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s), first {missing[0]!r}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s), first {unexpected[0]!r}")
    if wrong:
        problems.append(f"{len(wrong)} shape mismatch(es), first {wrong[0]}")
    if problems:
        raise SegmenterError(f"{path}: not a {what} checkpoint: {'; '.join(problems)}")
    network.load_state_dict(state, strict=True)
