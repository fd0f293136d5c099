"""Where fast mode's time goes: one render per engine under ``torch.profiler``, the costliest ops with shapes.

    python -m bench.fast_profile                   # SPADE, SEAN, pix2pixHD at the engine_speed sizes
    python -m bench.fast_profile --profile-engines sean --profile-mode exact --profile-threads 1

Same networks and inputs as ``engine_speed`` (full-size networks, random weights, real label maps where the
fixtures exist); every call renders a new label and re-encodes SEAN's style photo. One thread by default: on a
shared machine a multi-threaded op waits for its other thread's time slice, which swamps the op's own cost.
Rows: engine, op, input shapes, self_ms (self CPU time in the profiled render), share of the render, calls.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

NAME = "fast_profile"
DESCRIPTION = "per-op profile of one fast render per engine (torch.profiler, record_shapes)"


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--profile-engines", default="spade,sean,pix2pixhd", help="comma-separated engines")
    group.add_argument("--profile-mode", default="fast", choices=("fast", "exact"))
    group.add_argument("--profile-threads", type=int, default=1, help="torch threads (0: torch's default)")
    group.add_argument("--profile-top", type=int, default=12, help="ops listed per engine")


def profile_engine(engine_id: str, folder: Path, fast: bool, top: int) -> list[dict]:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from bench.engine_speed import Child

    torch.manual_seed(0)
    child = Child(engine_id, folder, 1)

    def call(k: int) -> None:
        child.fresh()
        child.engine.generate(child.request(k + 1, fast))

    for k in range(2):  # warm-up: kernels, transformed filters, low-precision weights
        call(k)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        call(2)
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events) or 1
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [{"engine": engine_id, "op": e.key, "shapes": str(e.input_shapes)[:80],
             "self_ms": e.self_cpu_time_total / 1000, "share": e.self_cpu_time_total / total, "calls": e.count}
            for e in ranked]  # fmt: skip


def run(args: argparse.Namespace) -> list[dict]:
    import torch

    from bench.engine_speed import CASES
    from bench.render_speed import CASES as SPEED_CASES
    from bench.render_speed import write_checkpoint

    threads = getattr(args, "profile_threads", 1)
    if threads:
        torch.set_num_threads(threads)
    fast = getattr(args, "profile_mode", "fast") == "fast"
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-profile-") as tmp:
        for engine_id in getattr(args, "profile_engines", "spade,sean,pix2pixhd").split(","):
            folder = write_checkpoint(SPEED_CASES[CASES[engine_id][0]], Path(tmp) / engine_id)
            if folder is None:
                rows.append({"engine": engine_id, "op": "spec missing"})
                continue
            rows += profile_engine(engine_id, folder, fast, getattr(args, "profile_top", 12))
    return rows


if __name__ == "__main__":
    from bench.__main__ import standalone_main

    sys.exit(standalone_main(sys.modules[__name__]))
