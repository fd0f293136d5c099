"""GPU readiness in one command: ``python -m bench --gpu-check [--json [FILE]]`` (``./dev gpu-check``).

On a CUDA machine (``--device auto`` finds one, or ``--device cuda:N``):

1. **parity**: the official reference cases in ``../shared/refs`` (SPADE Cityscapes, SEAN CelebA-HQ without
   noise, pix2pixHD global) rendered exact on CUDA; the raw output within :data:`PARITY_TOL` of the official
   CPU tensor;
2. **fast**: the same cases in fast mode (float16 autocast on CUDA, bfloat16 on CPU); PSNR of the uint8 image
   against the exact one at least :data:`FAST_MIN_PSNR` dB;
3. **speed**: SPADE 512x256, SEAN 256x256 and pix2pixHD 1024x512 at their full official widths (random
   weights in the official layouts from ``../shared/specs``), per mode: exact, fast and fast+compile
   (torch.compile of the fast forward, SPADE and pix2pixHD), each the median of :data:`TIMED_CALLS` renders
   after a warm-up (:data:`CPU_TIMED_CALLS` on the CPU); ``pays`` says whether fast+compile beat fast.

and prints one table (``--json``: the rows as one JSON document). It stops starting speed rows once
:data:`BUDGET_S` has passed, so the whole check ends well within 8 minutes.

Without CUDA it says so in one line and runs the same checks on the CPU at a small size: parity and fast mode
on the reference cases as they are, speed on the reference checkpoints (ngf 4, 256x128 / 256x256) instead of
the full-size networks, without fast+compile (minutes of compiling on a CPU). That keeps the command and
its table tested on every machine (``tests/test_gpu_check.py``); the CUDA numbers stay to be measured on one.

Exit status: 0 when every check passed, 1 when one failed (the table says which), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFS = SHARED / "refs"
PARITY_TOL = 1e-4  # the project's CUDA parity bound (tests/test_spade_cuda.py): float32 without TF32
FAST_MIN_PSNR = 40.0  # dB, fast vs exact: the fast mode's promise (docs/performance.md)
TIMED_CALLS = 5
CPU_TIMED_CALLS = 2  # the CPU fallback is a smoke run of the same code, not a measurement worth five calls
BUDGET_S = 7 * 60  # no new speed row after this (--gpu-check-budget): the whole check stays under 8 minutes
COMPILE_ENGINES = ("spade", "pix2pixhd")  # SEAN's render loop stays eager (bench/engine_speed.py)

# engine -> (reference case folder, checkpoint folder name)
REF_CASES = {"spade": "spade_cityscapes", "sean": "sean_celebahq", "pix2pixhd": "pix2pixhd_global"}


@dataclasses.dataclass
class Case:
    """One reference case: the loaded engine's request and the official output to compare with."""

    engine_id: str
    folder: Path
    request: Any
    expected: Any  # torch tensor (1, 3, H, W)


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def reference_case(engine_id: str) -> Case | None:
    """The case's checkpoint, its official inputs and output; None when ``../shared/refs`` lacks it."""
    import torch

    from regionpaint.engines.base import RenderRequest, StyleSource

    case = REFS / REF_CASES[engine_id]
    if not case.is_dir():
        return None
    folder = case / "checkpoints" / REF_CASES[engine_id]
    if engine_id == "sean":  # original-resolution inputs, noise off: output_nonoise.pt (tests/test_sean_parity.py)
        from PIL import Image

        label = _png(case / "datasets/CelebA-HQ/test/labels_A/28083.png")
        photo = np.asarray(Image.open(case / "datasets/CelebA-HQ/test/images_A/28083.jpg").convert("RGB"))
        request = RenderRequest(label=label, styles={"style": StyleSource("style", photo, label)}, noise=False, seed=0)
        expected = torch.load(case / "output_nonoise.pt", weights_only=True)
    else:
        inputs = case / "inputs"
        request = RenderRequest(
            label=_png(inputs / "label_preprocessed.png"), instance=_png(inputs / "instance_preprocessed.png")
        )
        expected = torch.load(case / "output.pt", weights_only=True)
    return Case(engine_id, folder, request, expected)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    from bench.engine_speed import psnr as image_psnr

    return image_psnr(a, b)


def check_case(engine_id: str, device: str) -> list[dict]:
    """Parity (exact) and fast-vs-exact rows of one reference case on ``device``."""
    from regionpaint.plugins.manager import get_plugin_manager

    case = reference_case(engine_id)
    if case is None:
        return [_row(engine_id, "parity", "exact", "-", None, f"<= {PARITY_TOL:g}", None, f"{REFS} has no case")]
    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(case.folder, device)
    try:
        exact = engine.generate(case.request)
        fast = engine.generate(dataclasses.replace(case.request, fast=True))
    finally:
        engine.release()
    size = f"{exact.image.shape[1]}x{exact.image.shape[0]}"
    error = float((exact.tensor.float().cpu() - case.expected).abs().max())
    quality = psnr(fast.image, exact.image)
    return [
        _row(engine_id, "parity", "exact", size, error, f"<= {PARITY_TOL:g}", error <= PARITY_TOL,
             "max |out - official|"),
        _row(engine_id, "fast quality", "fast", size, quality, f">= {FAST_MIN_PSNR:g} dB", quality >= FAST_MIN_PSNR,
             "PSNR vs exact"),
    ]  # fmt: skip


def _row(engine: str, check: str, mode: str, size: str, value: Any, limit: str, ok: bool | None, note: str) -> dict:
    if isinstance(value, float) and np.isfinite(value):
        value = float(f"{value:.4g}")
    return {"engine": engine, "check": check, "mode": mode, "size": size, "value": value, "limit": limit,
            "ok": ok, "note": note}  # fmt: skip


def _median_seconds(render, calls: int, warm_up: bool = True) -> float:
    if warm_up:
        render()  # kernels, cuDNN autotuning, allocator
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        render()  # generate returns a CPU image: the device work is done when it returns
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed_rows(
    engine_id: str, device: str, folder: Path, request: Any, modes: list[str], deadline: float, calls: int
) -> list[dict]:
    """Seconds per render of each mode (``exact``, ``fast``, ``fast+compile``) of one loaded checkpoint."""
    from regionpaint.plugins.manager import get_plugin_manager

    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(folder, device)
    rows, seconds, size = [], {}, "-"
    try:
        for mode in modes:
            if time.monotonic() > deadline:
                rows.append(_row(engine_id, "speed", mode, size, None, "", None, "skipped: time budget spent"))
                continue
            fast, compiled = mode != "exact", mode == "fast+compile"
            wanted = dataclasses.replace(request, fast=fast, compile=compiled)
            if compiled and not _compiled_ready(engine, wanted):
                rows.append(_row(engine_id, "speed", mode, size, None, "", None, "the compiled forward did not build"))
                continue
            image = engine.generate(wanted).image  # also the warm-up
            size = f"{image.shape[1]}x{image.shape[0]}"
            seconds[mode] = _median_seconds(lambda r=wanted: engine.generate(r), calls, warm_up=False)
            note = f"median of {calls} s/render"
            if compiled and "fast" in seconds:
                note += f"; pays: {'yes' if seconds[mode] < seconds['fast'] else 'no'} (fast {seconds['fast']:.4g} s)"
            rows.append(_row(engine_id, "speed", mode, size, seconds[mode], "", None, note))
    finally:
        engine.release()
    return rows


def _compiled_ready(engine: Any, request: Any) -> bool:
    """Start the engine's background compile and wait for it; whether the compiled forward now renders."""
    engine.generate(request)
    compiler = getattr(engine, "_compiler", None)
    if compiler is None:
        return False
    compiler.wait()
    return bool(engine.generate(request).info.get("compiled"))


def full_size_requests(folder: Path) -> dict[str, tuple[Path, Any]]:
    """Full official widths with random weights (bench.render_speed's cases): engine -> (checkpoint, request)."""
    from bench.render_speed import CASES, _inputs, write_checkpoint
    from regionpaint.engines.base import RenderRequest, StyleSource

    found = {}
    for index, case in enumerate(CASES):
        checkpoint = write_checkpoint(case, folder / f"case{index}")
        if checkpoint is None:
            continue
        label, instance = _inputs(case)
        styles, mix = {}, None
        if case.styles:
            photo = np.random.RandomState(0).randint(0, 256, (*label.shape, 3)).astype(np.uint8)
            styles, mix = {"A": StyleSource("A", photo, label)}, (("A", 1.0),)
        found[case.engine] = (
            checkpoint,
            RenderRequest(label=label, instance=instance, styles=styles, default_style=mix, seed=0, size=case.size),
        )
    return found


def cuda_state(device: str) -> tuple[bool, str]:
    """(whether ``device`` is a usable CUDA device, a one-line description)."""
    import torch

    if not device.startswith("cuda"):
        return False, f"device {device}"
    if not torch.cuda.is_available():
        built = torch.version.cuda or "none"
        return False, f"no CUDA device visible to torch {torch.__version__} (CUDA build: {built})"
    return True, torch.cuda.get_device_name(torch.device(device))


def run_check(device: str = "auto", budget_s: float = BUDGET_S) -> tuple[str, list[dict]]:
    """(headline, rows): the whole check on ``device`` (``auto``: CUDA when present); no speed row starts after
    ``budget_s`` seconds."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    on_cuda, description = cuda_state(device)
    deadline = time.monotonic() + budget_s
    rows: list[dict] = []
    if on_cuda:
        headline = f"gpu-check on {description} ({device}), torch {torch.__version__}"
    else:
        if device.startswith("cuda"):
            description = f"{description}; asked for {device}"
        headline = f"gpu-check: no CUDA ({description}): the same checks on the CPU at a small size; CUDA is unmeasured"
        device = "cpu"
    for engine_id in REF_CASES:
        rows += check_case(engine_id, device)
    with tempfile.TemporaryDirectory(prefix="regionpaint-gpu-check-") as scratch:
        if on_cuda:
            targets = full_size_requests(Path(scratch))
        else:
            targets = {}
            for engine_id in REF_CASES:
                case = reference_case(engine_id)
                if case is not None:
                    targets[engine_id] = (case.folder, case.request)
        calls = TIMED_CALLS if on_cuda else CPU_TIMED_CALLS
        for engine_id, (folder, request) in targets.items():
            modes = ["exact", "fast"] + (["fast+compile"] if on_cuda and engine_id in COMPILE_ENGINES else [])
            rows += speed_rows(engine_id, device, folder, request, modes, deadline, calls)
    return headline, rows


def passed(rows: list[dict]) -> bool:
    return all(row["ok"] is not False for row in rows)


def main(args: argparse.Namespace) -> int:
    """``python -m bench --gpu-check``: print the headline and the table (or the JSON document)."""
    from bench.__main__ import format_table

    started = time.perf_counter()
    headline, rows = run_check(getattr(args, "device", "auto"), getattr(args, "gpu_check_budget", BUDGET_S))
    ok = passed(rows)
    destination = getattr(args, "json", None)
    if destination:
        document = {"headline": headline, "passed": ok, "seconds": round(time.perf_counter() - started, 1),
                    "rows": rows}  # fmt: skip
        text = json.dumps(document, indent=1, default=str)
        if destination == "-":
            print(text)
        else:
            Path(destination).write_text(text + "\n", encoding="utf-8")
            print(headline)
    else:
        print(headline)
        print(format_table(rows))
        verdict = "all checks passed" if ok else "a check FAILED (ok = False above)"
        print(f"{verdict} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1
