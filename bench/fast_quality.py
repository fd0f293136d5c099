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
    from bench.engine_speed import psnr
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderService, mean_style_sources
    from regionpaint.engines.base import MEAN_STYLE

    doc = open_project(project)
    job = job_from_document(doc)
    service = RenderService()
    engine_class = service.engine_class(job.engine_id, job.checkpoint)
    engine_id = engine_class.id
    capabilities = service.capabilities(engine_id, job.checkpoint)
    request = service.fit(job, engine_class, capabilities)
    engine, _ = service.load(engine_class, job.checkpoint, "cpu")
    if MEAN_STYLE in capabilities:
        engine.set_mean_styles(mean_style_sources(job, request))
    images, seconds = {}, {}
    for mode in ("exact", "fast", "exact again"):
        start = time.perf_counter()
        images[mode] = engine.generate(dataclasses.replace(request, fast=mode == "fast")).image
        seconds[mode] = time.perf_counter() - start
    service.release()
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
