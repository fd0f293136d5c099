"""The JSON document of a bench run: ``rows`` (engine x size x mode), editing times, machine."""

from __future__ import annotations

import argparse
import math
import os
import platform
from typing import Any


def machine(device: str = "auto") -> dict[str, Any]:
    """CPU model, cores, load, torch version and threads, device: enough to compare runs."""
    import torch

    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average_1min": None if load is None else round(load[0], 2),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": device,
    }


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def document(results: dict[str, list[dict]], args: argparse.Namespace) -> dict[str, Any]:
    """rows with engine/size/mode/median_s/p90_s/peak_mb/psnr_vs_exact; top-level editing and start-up times
    (None where the run did not measure them)."""
    rows = [{k: _finite(v) for k, v in row.items()} for row in results.get("engine_speed", [])]
    rerender = getattr(args, "_engine_speed_summary", {}).get("sean_rerender", {})
    interactive = rerender.get("fast") or rerender.get("exact") or {}
    startup = getattr(args, "_startup", {})
    return {
        "machine": machine(args.device),
        "rows": rows,
        "style_only_rerender_s": interactive.get("style_only_rerender_s"),
        "label_edit_rerender_s": interactive.get("label_edit_rerender_s"),
        "rerender": rerender,
        "startup_s": startup.get("startup_s"),
        "first_render_s": startup.get("first_render_s"),
        "event_loop_p99_ms": startup.get("event_loop_p99_ms"),
        # training s/iter, official vs regionpaint side by side (bench/train_speed.py)
        "training": [{k: _finite(v) for k, v in row.items()} for row in results.get("train_speed", [])],
        "benchmarks": {name: r for name, r in results.items() if name != "engine_speed"},
    }
