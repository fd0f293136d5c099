"""Fast mode against exact on the official reference checkpoints (../shared/refs, random discriminating
weights at ngf 4): PSNR (dB) of the uint8 renders per engine, on the references' own preprocessed inputs."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

NAME = "fast_refs"
DESCRIPTION = "fast vs exact on the official reference checkpoints (PSNR dB)"

REFS = Path(__file__).resolve().parents[1].parent / "shared" / "refs"
CASES = {"spade": "spade_cityscapes", "sean": "sean_celebahq", "pix2pixhd": "pix2pixhd_global"}


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def render_pair(engine_id: str) -> dict | None:
    from bench.engine_speed import psnr
    from regionpaint.engines.base import RenderRequest, StyleSource
    from regionpaint.plugins.manager import get_plugin_manager

    case = REFS / CASES[engine_id]
    if not case.is_dir():
        return None
    inputs = case / "inputs"
    label = _png(inputs / "label_preprocessed.png")
    instance = _png(inputs / "instance_preprocessed.png") if (inputs / "instance_preprocessed.png").is_file() else None
    styles, mix = {}, None
    if engine_id == "sean":
        styles = {"A": StyleSource("A", np.asarray(_png(inputs / "style_A_preprocessed.png"))[..., :3], label)}
        mix = (("A", 1.0),)
    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(case / "checkpoints" / CASES[engine_id], "cpu")
    request = RenderRequest(label=label, instance=instance, styles=styles, default_style=mix, seed=0, noise=False)
    exact = engine.generate(request)
    fast = engine.generate(dataclasses.replace(request, fast=True))
    engine.release()
    return {"engine": engine_id, "checkpoint": CASES[engine_id], "psnr_fast_vs_exact": psnr(fast.image, exact.image)}


def run(args: argparse.Namespace) -> list[dict]:
    return [row for row in (render_pair(e) for e in CASES) if row is not None]
