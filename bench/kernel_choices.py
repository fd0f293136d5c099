"""Full-size renders with the kernel choices measured on this machine against the first-guess rules.

For each engine at its official size (random weights with the official key layout, from ``../shared/specs``)
and each mode: one render with tuning on (every choice met is timed, in a scratch cache; ``tuning_s`` is that
render's time), then rounds alternating a render by the rules (``REGIONPAINT_AUTOTUNE=0``'s choices) and a
render by the measured choices, in one process; medians of the rounds. ``max_diff`` is the largest absolute
difference between the two exact renders (parity: the choices compute the same values). Nothing is asserted.

    python -m bench --only kernel_choices --repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

NAME = "kernel_choices"
DESCRIPTION = "full-size renders: kernels chosen by the rules vs measured on this machine (seconds)"

CASES = {  # bench.render_speed case name -> network size (W, H)
    "SPADE cityscapes (ngf 64)": (512, 256),
    "SEAN celebamask-hq (ngf 64, style 512)": (256, 256),
    "pix2pixHD global 512p (ngf 64)": (512, 256),
}


def run(args: argparse.Namespace) -> list[dict]:
    from bench.render_speed import CASES as RENDER_CASES
    from bench.render_speed import write_checkpoint

    repeats = max(1, getattr(args, "repeats", 3))
    rows = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-kernel-choices-") as scratch:
        for case in RENDER_CASES:
            if case.name not in CASES:
                continue
            case = dataclasses.replace(case, size=CASES[case.name])
            folder = write_checkpoint(case, Path(scratch) / case.engine)
            if folder is None:
                continue
            rows += _case_rows(case, folder, Path(scratch) / f"{case.engine}.json", repeats)
    return rows


def _case_rows(case, folder: Path, cache: Path, repeats: int) -> list[dict]:
    import numpy as np

    from bench.render_speed import _inputs
    from regionpaint.engines.acceleration import autotune
    from regionpaint.engines.base import RenderRequest, StyleSource
    from regionpaint.plugins.manager import get_plugin_manager

    engine = get_plugin_manager().engine_class(case.engine)()
    engine.load(folder, "cpu")
    label, instance = _inputs(case)
    photo = np.random.RandomState(0).randint(0, 256, (*label.shape, 3)).astype(np.uint8)
    styles = {n: StyleSource(n, np.roll(photo, k, axis=1), label) for k, n in enumerate("AB")} if case.styles else {}
    tuner = autotune.Tuner(cache, mode="inline")
    previous, autotune._tuner = autotune._tuner, tuner
    rows = []
    try:
        for fast in (False, True):
            tuner.measured.clear()
            request = RenderRequest(label=label, instance=instance, styles=styles, seed=0, size=case.size, fast=fast)

            def render(mode: str, request=request):
                tuner.mode = mode
                if hasattr(engine, "_label_cache"):
                    engine._label_cache.reset()  # SPADE keeps the last output per label: render it all
                start = time.perf_counter()
                result = engine.generate(request)
                return time.perf_counter() - start, result.tensor

            render("off")  # warm-up: the rules' kernels (and their Winograd filters) once
            tuning_s, _ = render("inline")
            times: dict[str, list[float]] = {"off": [], "inline": []}
            outputs = {}
            for _ in range(repeats):
                for mode in ("off", "inline"):
                    seconds, outputs[mode] = render(mode)
                    times[mode].append(seconds)
            rule, tuned = statistics.median(times["off"]), statistics.median(times["inline"])
            rows.append({
                "engine": case.name, "size": f"{case.size[0]}x{case.size[1]}", "mode": "fast" if fast else "exact",
                "rules_s": round(rule, 3), "measured_s": round(tuned, 3), "speedup": round(rule / tuned, 2),
                "tuning_s": round(tuning_s, 2),
                "max_diff": float((outputs["off"].float() - outputs["inline"].float()).abs().max()),
                "choices_measured": len(tuner.measured),
                "rule_was_wrong": sum(1 for m in tuner.measured if m.guess is not None and m.winner != m.guess),
            })  # fmt: skip
    finally:
        autotune._tuner = previous
        engine.release()
    return rows
