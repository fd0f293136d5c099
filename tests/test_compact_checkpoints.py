"""float16 .safetensors (how the demo models ship): half the bytes, the same picture within float16 rounding."""

from __future__ import annotations

import pytest
import torch

from regionpaint.engines.loading.checkpoint import convert_safetensors_dtype, load_safetensors
from regionpaint.plugins.manager import get_plugin_manager
from tests.conftest import require_shared
from tests.test_render_cli import _render


@pytest.mark.parametrize("case", ["spade_cityscapes", "pix2pixhd_global", "sean_celebahq"])
def test_float16_safetensors_render_like_the_float32_checkpoint(tmp_path, case):
    case_dir = require_shared("refs", case)
    checkpoint = case_dir / "checkpoints" / case
    engine_id = {"spade_cityscapes": "spade", "pix2pixhd_global": "pix2pixhd", "sean_celebahq": "sean"}[case]
    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(checkpoint, "cpu")
    full = engine.save(tmp_path / "full.safetensors")
    compact = engine.save(tmp_path / "compact.safetensors")
    convert_safetensors_dtype(compact, torch.float16)
    assert compact.stat().st_size < 0.6 * full.stat().st_size
    assert all(v.dtype != torch.float32 for sd in load_safetensors(compact).values() for v in sd.values())

    label = case_dir / "inputs" / "label_preprocessed.png"
    args = ["--label", str(label)]
    if case == "sean_celebahq":
        args += ["--style", f"A={case_dir / 'datasets/CelebA-HQ/test/images_A/28083.jpg'}:{label}", "--no-noise"]
    else:
        args += ["--instance", str(case_dir / "inputs" / "instance_preprocessed.png")]
    _, reference = _render(tmp_path, "--checkpoint", str(full), *args)
    _, half = _render(tmp_path, "--checkpoint", str(compact), *args)
    assert half.dtype == torch.float32
    difference = (half - reference).abs()
    assert 0 < difference.max().item() < 0.05 and difference.mean().item() < 5e-3
