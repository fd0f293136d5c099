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

from regionpaint.engines.device import float32_math


def fast_dtype(device: torch.device | str) -> torch.dtype:
    """The autocast dtype of fast mode on ``device``."""
    device = torch.device(device)
    if device.type == "cuda":
        major, _ = torch.cuda.get_device_capability(device)
        return torch.float16 if major >= 7 else torch.float32  # pre-Volta: no tensor cores, stay float32
    return torch.bfloat16


@contextmanager
def render_math(device: torch.device | str | None, allow_tf32: bool = False, fast: bool = False) -> Iterator[None]:
    """Context for a generator forward: exact float32 or the fast mode of ``device`` (see the module)."""
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
    with _autocast(device.type, dtype):
        yield


def _autocast(device_type: str, dtype: torch.dtype):
    if dtype == torch.float32 or device_type not in ("cpu", "cuda"):
        return nullcontext()  # e.g. MPS: fast mode is the exact path there
    return torch.autocast(device_type, dtype=dtype)


def fast_input(x: torch.Tensor, fast: bool) -> torch.Tensor:
    """A generator input in the fast mode's memory layout (channels-last for 4-D maps); unchanged for exact."""
    if fast and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


@contextmanager
def fast_inference(device: torch.device | str | None, allow_tf32: bool = False) -> Iterator[None]:
    """Inference mode and the fast render math of ``device``: what a compiled fast forward runs under."""
    with torch.inference_mode(), render_math(device, allow_tf32, fast=True):
        yield
