"""The render math of a request: exact float32 (the default, parity with the official code) or fast.

``fast`` is :attr:`regionpaint.engines.base.RenderRequest.fast`, an explicit choice (the editor's "Fast preview", the
CLI's ``--fast``). Every engine wraps its generator call in :func:`render_math`, so the choice is made here
once:

* exact: float32; on CUDA no TF32 (see :func:`regionpaint.engines.device.float32_math`).
* fast on CPU: bfloat16 autocast (convolutions and matmuls in bf16 where the CPU has bf16 instructions,
  AVX-512-BF16 / AMX; element-wise ops stay float32) with channels-last inputs (oneDNN's preferred layout).
* fast on CUDA: float16 autocast (bfloat16 where the GPU has no fast fp16), channels-last, TF32 allowed
  for what stays float32, cuDNN autotuning for the fixed render shapes.

Fast output differs from exact by PSNR >= 40 dB on the demo and reference checkpoints (measured by
``python -m bench --only engine_speed`` and ``tests/test_fast_mode.py``). Caches that hold generator
results must key on the mode (the engines do): a fast result is never served for an exact request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from regionpaint.engines.device import float32_math


def fast_dtype(device: torch.device | str) -> torch.dtype:
    """The autocast dtype of fast mode on ``device``."""
    device = torch.device(device)
    if device.type == "cuda":
        major, _ = torch.cuda.get_device_capability(device)
        return torch.float16 if major >= 7 else torch.float32  # pre-Volta: no tensor cores, stay float32
    return torch.bfloat16


@contextmanager
def render_math(
    device: torch.device | str | None, allow_tf32: bool = False, fast: bool = False, precast: bool = True
) -> Iterator[None]:
    """Context for a generator forward: exact float32 or the fast mode of ``device`` (see the module).

    ``precast``: in fast mode on CPU, some kernels are swapped for faster equivalents (:class:`_FastKernels`);
    False for graphs being compiled (inductor's freezing prepacks the weights itself)."""
    device = torch.device(device or "cpu")
    if not fast:
        with float32_math(device, allow_tf32):
            yield
        return
    dtype = fast_dtype(device)
    if device.type == "cuda":
        cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
        saved = cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark
        cudnn.allow_tf32 = matmul.allow_tf32 = True
        cudnn.benchmark = True
        try:
            with _autocast("cuda", dtype):
                yield
        finally:
            cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark = saved
        return
    precasting = precast and device.type == "cpu" and dtype != torch.float32
    with _autocast(device.type, dtype), _FastKernels(dtype) if precasting else nullcontext():
        yield


class _FastKernels(TorchFunctionMode):
    """Fast mode's replacements for the eager kernels that measured slow on CPU under bf16 autocast
    (``python -m bench.fast_profile``, per op): the same functions, computed another way.

    * Convolutions read low-precision channels-last copies of their weights, made once per weight: autocast
      casts every float32 weight on every call and oneDNN then reorders it for the channels-last input (for a
      1024-channel 3x3 convolution at 16x32, 22 ms where the convolution itself takes 9.5 ms). The copies live
      as long as their weights (weak-keyed) and are remade when a weight changes in place; they add half the
      convolutions' float32 bytes.
    * Instance norm of one sample without running statistics is batch norm with batch statistics (the same
      function for a batch of one: per-channel mean and biased variance over the map, the same eps):
      ``instance_norm`` reshapes a channels-last input to contiguous and back (two copies of the map), 10x
      the time of batch norm's channels-last kernel at 64x256x512 (group norm, the other equivalent, is
      slower still at 1024 channels).
    * Reflection padding stays in the input's dtype: autocast runs it in float32, a cast of the map there and
      back around every padded convolution.
    """

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _CONVOLUTIONS and len(args) > 1:
            args = (args[0], low_precision_copy(args[1], self.dtype), *args[2:])
            if len(args) > 2 and args[2] is not None:
                args = (args[0], args[1], low_precision_copy(args[2], self.dtype), *args[3:])
        elif func is F.instance_norm:
            return _instance_norm(func, *args, **kwargs)
        elif func in _PADS and _reflect(args, kwargs) and args[0].dtype == self.dtype:
            with torch.autocast(device_type=args[0].device.type, enabled=False):
                return func(*args, **kwargs)
        return func(*args, **kwargs)


def _instance_norm(func, input, running_mean=None, running_var=None, weight=None, bias=None,
                   use_input_stats=True, momentum=0.1, eps=1e-5):  # fmt: skip
    """``F.instance_norm`` by batch norm where that is the same function (one sample, input statistics)."""
    if running_mean is None and running_var is None and use_input_stats and input.dim() == 4 and len(input) == 1:
        return F.batch_norm(input, None, None, weight, bias, True, momentum, eps)
    return func(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def _reflect(args: tuple, kwargs: dict) -> bool:
    mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
    return mode == "reflect" and isinstance(args[0], torch.Tensor)


_PADS = frozenset({F.pad, torch._C._nn.pad})
_CONVOLUTIONS = frozenset({torch.conv2d, F.conv2d, F.conv_transpose2d})
_COPIES: WeakIdKeyDictionary = WeakIdKeyDictionary()


def low_precision_copy(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``tensor`` in ``dtype`` (4-D: channels-last), cached for parameters; other tensors are returned as they are."""
    if not isinstance(tensor, torch.nn.Parameter) or tensor.dtype != torch.float32:
        return tensor
    stamp = (tensor._version, tensor.data_ptr(), dtype)
    cached = _COPIES.get(tensor)
    if cached is None or cached[0] != stamp:
        layout = torch.channels_last if tensor.dim() == 4 else torch.contiguous_format
        with torch.inference_mode(False), torch.no_grad():  # a normal tensor: usable outside inference mode too
            cached = (stamp, tensor.detach().to(dtype, memory_format=layout))
        _COPIES[tensor] = cached
    return cached[1]


def _autocast(device_type: str, dtype: torch.dtype):
    if dtype == torch.float32 or device_type not in ("cpu", "cuda"):
        return nullcontext()  # e.g. MPS: fast mode is the exact path there
    return torch.autocast(device_type, dtype=dtype)


def fast_input(x: torch.Tensor, fast: bool) -> torch.Tensor:
    """A generator input in the fast mode's memory layout (channels-last for 4-D maps); unchanged for exact."""
    if fast and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def exact_channels_last(device: torch.device | str) -> bool:
    """Whether SPADE's and SEAN's exact renders run channels-last on ``device``.

    On CPU they do: their modulation maps are spread from per-pattern rows (:func:`region_patterns.spread`),
    a row copy per pixel in channels-last where the contiguous layout needs a gather per value, and oneDNN's
    float32 convolutions take channels-last as they come. Measured side by side in one process (2-core Xeon
    with AMX, full-size networks, random weights, medians of 6 alternating renders): SPADE 512x256 1.38 ->
    1.18 s, SEAN 256x256 1.06 -> 0.92 s; the same uint8 pixels, the float outputs equal up to summation order
    (the parity tests hold them to the official outputs within 1e-4). pix2pixHD measured no gain (0.83 vs
    0.82 s: no modulation maps; its instance norms reshape channels-last maps) and stays contiguous.
    Elsewhere (CUDA, MPS) unmeasured: contiguous, as before.
    """
    return torch.device(device).type == "cpu"


def memory_format_of(x: torch.Tensor) -> torch.memory_format:
    """channels-last for a 4-D tensor laid out channels-last (and not also contiguous), else contiguous."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def activation_input(x: torch.Tensor, fast: bool) -> torch.Tensor:
    """A SPADE/SEAN generator input in its render's layout: channels-last for 4-D maps in fast mode, and in
    exact mode where :func:`exact_channels_last` says so; otherwise unchanged."""
    if x.dim() == 4 and (fast or exact_channels_last(x.device)):
        return x.contiguous(memory_format=torch.channels_last)
    return x


@contextmanager
def fast_inference(device: torch.device | str | None, allow_tf32: bool = False) -> Iterator[None]:
    """Inference mode and the fast render math of ``device``: what a compiled fast forward runs under."""
    with torch.inference_mode(), render_math(device, allow_tf32, fast=True, precast=False):
        yield
