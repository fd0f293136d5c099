"""Choosing the torch device from a user's string: auto, cpu, cuda, cuda:N, mps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from regionpaint.engines.base import EngineError


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA if available, else MPS, else CPU; other names are checked for availability."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise EngineError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EngineError(f"device {name!r} requested but CUDA is not available in this torch build")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EngineError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise EngineError("device 'mps' requested but MPS is not available")
    return device


@contextmanager
def float32_math(device: torch.device | str | None, allow_tf32: bool = False) -> Iterator[None]:
    """On CUDA, run convolutions and matmuls in true float32 (no TF32) unless ``allow_tf32``.

    cuDNN's default TF32 convolutions moved the reference outputs by 5e-4 (SPADE), 7e-4 (SEAN) and 2e-3
    (pix2pixHD) on an H100; in float32 they stay within 1e-5 of the official CPU results. The previous
    global flags are restored afterwards.
    """
    if device is None or torch.device(device).type != "cuda" or allow_tf32:
        yield
        return
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, matmul.allow_tf32
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved
