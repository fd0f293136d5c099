"""SPADE on CUDA (skipped without a GPU): the official reference within 1e-4, the CPU result within 1e-4."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import RenderRequest, StyleSource
from regionpaint.engines.spade.engine import SpadeEngine
from tests.factories import make_tiny_checkpoint
from tests.test_spade_reference import CITYSCAPES, require

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_cityscapes_reference_on_cuda_and_tf32_flags_restored():
    case = require(CITYSCAPES)
    label = np.asarray(Image.open(case / "inputs/label_preprocessed.png"))
    instance = np.asarray(Image.open(case / "inputs/instance_preprocessed.png"))
    engine = SpadeEngine()
    engine.load(case / "checkpoints/spade_cityscapes", "cuda")
    assert engine.device.startswith("cuda")
    flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    result = engine.generate(RenderRequest(label=label, instance=instance))
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == flags
    assert result.tensor.device.type == "cpu" and result.tensor.dtype == torch.float32
    expected = torch.load(case / "output.pt", weights_only=True)
    assert (result.tensor - expected).abs().max().item() < 1e-4
    engine.release()


def test_vae_sample_on_cuda_matches_cpu(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "v", use_vae=True, seed=5)
    photo = np.random.default_rng(0).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    rows, cols = np.indices((128, 256))
    label = ((rows // 16 + cols // 32) % 5).astype(np.uint8)
    request = RenderRequest(label=label, styles={"p": StyleSource("p", photo)}, sample=True, seed=9)
    results = {}
    for device in ("cpu", "cuda"):
        engine = SpadeEngine()
        engine.load(folder, device)
        results[device] = engine.generate(request)
    assert np.abs(results["cpu"].info["z"] - results["cuda"].info["z"]).max() < 1e-5
    assert (results["cpu"].tensor - results["cuda"].tensor).abs().max().item() < 1e-4
