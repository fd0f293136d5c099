"""Fast mode against exact on the bundled demo documents: PSNR (dB) and the two times.

The demo checkpoints are real trained models, so the PSNR here says what a person sees; the random-weight
full-size rows of ``engine_speed`` only say how far the arithmetic moves.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

NAME = "fast_quality"
DESCRIPTION = "fast vs exact on the demo documents (PSNR dB of the uint8 renders)"

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo"
DOCUMENTS = ("faces.rpaint", "streets.rpaint", "streets_pix2pixhd.rpaint")


def render_pair(project: Path) -> dict[str, Any]:
    """Render ``project`` exact then fast with its own engine and checkpoint; PSNR and seconds of each."""
    from app.model.project import open_project
    from app.render_request import fit_request_to_engine, prepare_engine_styles, request_from_document
    from bench.engine_speed import psnr
    from plugins.manager import get_plugin_manager

    doc = open_project(project)
    engine_id, checkpoint, _, request = request_from_document(doc)
    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(checkpoint, "cpu")
    request = fit_request_to_engine(request, dict(doc.engine.options), engine.capabilities)
    prepare_engine_styles(engine, request)
    images, seconds = {}, {}
    for mode in ("exact", "fast", "exact again"):
        start = time.perf_counter()
        images[mode] = engine.generate(dataclasses.replace(request, fast=mode == "fast")).image
        seconds[mode] = time.perf_counter() - start
    engine.release()
    return {
        "document": project.name,
        "engine": engine_id,
        "psnr_fast_vs_exact": psnr(images["fast"], images["exact"]),
        "exact_unchanged_after_fast": bool((images["exact again"] == images["exact"]).all()),
        "exact_s": seconds["exact"],
        "fast_s": seconds["fast"],
    }


def run(args: argparse.Namespace) -> list[dict]:
    return [render_pair(DEMO / name) for name in DOCUMENTS if (DEMO / name).is_file()]
