"""``regionpaint tune``: measure every kernel choice of the installed engines on this machine, again.

Renders run with the choices :mod:`regionpaint.engines.acceleration.autotune` makes on first use of a shape;
this command redoes them all: it renders the bundled demo documents (or ``--project`` documents, or a
``--checkpoint`` with a ``--label`` map) in exact and fast mode with every choice re-timed, prints what it
measured, and keeps the winners in the per-machine cache. ``--reset`` forgets every measurement instead.
The compile-or-eager choice is not made here (a compile takes 20-60 s): it is timed when a compile finishes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from regionpaint.app.commands.tables import table


def register(cli) -> None:
    cli.add_command(
        "tune",
        "Measure which kernels are fastest on this machine (Winograd or direct convolutions, pattern or plain "
        "modulation, one-hot head lookup or convolution) for the demo models or a checkpoint, and keep the "
        "choices.",
        _configure,
        run_tune,
    )


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project", action="append", default=[], metavar="FILE.rpaint", help="tune for this document (repeatable)"
    )
    parser.add_argument("--checkpoint", metavar="CKPT", help="tune for this checkpoint (with --label)")
    parser.add_argument("--label", metavar="LABEL.png", help="a label map (class ids) to render --checkpoint with")
    parser.add_argument("--engine", default="", metavar="ID", help="engine of --checkpoint (default: recognised)")
    parser.add_argument(
        "--modes", default="exact,fast", help="render modes to tune, comma-separated (default: exact,fast)"
    )
    parser.add_argument("--reset", action="store_true", help="forget every measurement of this machine and exit")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_tune(args: argparse.Namespace) -> int:
    from regionpaint.engines.acceleration import autotune

    tuner = autotune.tuner()
    if args.reset:
        existed = tuner.reset()
        result = {"cache": str(tuner.cache_path()), "removed": existed}
        print(
            json.dumps(result)
            if args.json
            else f"forgot the kernel choices in {result['cache']}"
            if existed
            else f"no kernel choices to forget ({result['cache']} does not exist)"
        )
        return 0
    modes = _modes(args.modes)
    jobs = _jobs(args)
    tuner.mode, tuner.retune = "inline", True  # re-time every choice met, whatever the cache holds
    start = len(tuner.measured)
    renders = [_render(job, fast, source) for source, job in jobs for fast in modes]
    measured = tuner.measured[start:]
    if args.json:
        print(json.dumps(_report(tuner, renders, measured), indent=1))
        return 0
    for line in renders:
        print(line["source"], line["mode"], f"{line['seconds']:.2f} s")
    rows = [
        [m.name, m.shape, ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in m.seconds.items()), m.winner, m.guess or ""]
        for m in measured
    ]
    header = ["choice", "shape", "times (fastest round)", "winner", "rule's guess"]
    print(table(rows, header) if rows else "no choices to measure")
    print(f"kept in {tuner.cache_path()}")
    return 0


def _modes(text: str) -> list[bool]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in ("exact", "fast")]
    if unknown or not names:
        raise ValueError(f"--modes: expected exact and/or fast, got {text!r}")
    return [m == "fast" for m in dict.fromkeys(names)]


def _jobs(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(what it is, RenderJob) of each document or checkpoint to tune for."""
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderJob
    from regionpaint.engines.base import RenderRequest

    if args.label and not args.checkpoint:
        raise ValueError("--label goes with --checkpoint")
    jobs = []
    if args.checkpoint:
        if not args.label:
            raise ValueError(f"--checkpoint {args.checkpoint}: give a --label map to render it with")
        from regionpaint.app.model.imports import read_label_map

        request = RenderRequest(label=read_label_map(args.label, None))
        jobs.append((str(args.checkpoint), RenderJob(request, args.engine, str(args.checkpoint), "cpu")))
    for project in args.project:
        jobs.append((str(project), job_from_document(open_project(Path(project)))))
    if not jobs:
        from regionpaint.app.bundled_demo import bundled_demos

        jobs = [(path.name, job_from_document(open_project(path))) for _title, path in bundled_demos()]
        if not jobs:
            raise ValueError("no demo documents are installed: give --project or --checkpoint with --label")
    return [(source, dataclasses.replace(job, device="cpu")) for source, job in jobs]


def _render(job: Any, fast: bool, source: str) -> dict[str, Any]:
    """One render of ``job`` (the choices it meets are timed on the way); its time includes the timing."""
    import time

    from regionpaint.app.render.service import default_service

    fitted = dataclasses.replace(job, request=dataclasses.replace(job.request, fast=fast))
    started = time.perf_counter()
    default_service().render(fitted)
    return {"source": source, "mode": "fast" if fast else "exact", "seconds": time.perf_counter() - started}


def _report(tuner: Any, renders: list[dict], measured: list) -> dict[str, Any]:
    return {
        "cache": str(tuner.cache_path()),
        "machine": tuner.key,
        "renders": renders,
        "choices": [
            {"choice": m.name, "shape": m.shape, "seconds": m.seconds, "winner": m.winner, "guess": m.guess}
            for m in measured
        ],
    }
