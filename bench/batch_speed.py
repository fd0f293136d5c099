"""Batch rendering speed: ``regionpaint batch`` against a loop of single ``render`` processes.

Full-size official architectures with random weights (as :mod:`bench.render_speed`): SPADE Cityscapes
512x256 and pix2pixHD global 1024x512. ``--batch-maps`` label maps (Cityscapes names, with instance maps)
are rendered

* by one ``regionpaint render`` process per map (what a shell loop over ``render`` costs: start-up, torch
  import and model load every time),
* by one ``regionpaint batch`` process at each of ``--batch-sizes``,
* by ``torchrun --nproc_per_node 2`` running ``batch`` (CPU: gloo, one thread per process; skipped on a
  machine with fewer than 2 GPUs when the device is CUDA).

Every command is timed wall-clock from process start to exit, in one run, side by side; ``steady img/s`` is the
rate from the batch's ``start`` event (engine loaded) to its last finished image: without start-up and loading.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NAME = "batch_speed"
DESCRIPTION = "images/s rendering a folder: batch sizes and 2 torchrun processes vs one render process per map"
REPO = Path(__file__).resolve().parents[1]
CASES = {"spade": "SPADE cityscapes (ngf 64)", "pix2pixhd": "pix2pixHD global 512p (ngf 64)"}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--batch-maps", type=int, default=20, help="label maps per run (default 20)")
    group.add_argument("--batch-sizes", default="1,2,4", help="comma-separated --batch-size values")
    group.add_argument("--batch-engines", default=",".join(CASES), help="comma-separated: spade, pix2pixhd")
    group.add_argument("--no-render-loop", action="store_true", help="skip the loop of render processes")
    group.add_argument("--no-torchrun", action="store_true", help="skip the 2-process torchrun row")


def write_maps(folder: Path, size: tuple[int, int], count: int, label_nc: int) -> None:
    """``count`` Cityscapes-named label + instance maps of ``size`` (W, H), all different."""
    from PIL import Image

    width, height = size
    city = folder / "gtFine" / "val" / "bench"
    city.mkdir(parents=True, exist_ok=True)
    rows, cols = np.indices((height, width))
    for index in range(count):
        label = ((rows // 37 + cols // 53 + index) % label_nc).astype(np.uint8)
        instance = (label.astype(np.int32) * 1000 + (cols // 97)).astype(np.uint16)
        stem = f"bench_{index:06d}_000019_gtFine"
        Image.fromarray(label).save(city / f"{stem}_labelIds.png")
        Image.fromarray(instance).save(city / f"{stem}_instanceIds.png")


def _env(threads: int | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} ... failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def _steady_rate(stdout: str) -> float | None:
    """Images/s from the ``start`` event (engine loaded, maps found) to the last finished image."""
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    start = next((e for e in events if e["event"] == "start"), None)
    steps = [e for e in events if e["event"] == "step" and e["step"] > 0]
    if start is None or not steps or steps[-1]["time"] <= start["time"]:
        return None
    return (steps[-1]["step"] - start["start_step"]) / (steps[-1]["time"] - start["time"])


def _render_loop(checkpoint: Path, maps: Path, out: Path, device: str) -> float:
    labels = sorted(maps.rglob("*_labelIds.png"))
    start = time.perf_counter()
    for label in labels:
        instance = label.with_name(label.name.replace("_labelIds", "_instanceIds"))
        command = [sys.executable, "-m", "regionpaint", "render", "--checkpoint", str(checkpoint)]
        command += ["--label", str(label), "--instance", str(instance), "--device", device]
        _timed([*command, "--out", str(out / f"{label.stem}.png")], _env())
    return time.perf_counter() - start


def bench_engine(engine: str, args: argparse.Namespace, tmp: Path, device: str) -> list[dict]:
    from bench.render_speed import CASES as RENDER_CASES
    from bench.render_speed import write_checkpoint

    case = next(c for c in RENDER_CASES if c.name == CASES[engine])
    checkpoint = write_checkpoint(case, tmp / f"{engine}_ckpt")
    if checkpoint is None:
        return [{"engine": case.name, "method": "spec missing"}]
    maps = tmp / f"{engine}_maps"
    write_maps(maps, case.size, args.batch_maps, case.label_nc)
    base = {"engine": case.name, "size": f"{case.size[0]}x{case.size[1]}", "maps": args.batch_maps}
    rows: list[dict] = []
    loop_seconds = None
    if not args.no_render_loop:
        loop_seconds = _render_loop(checkpoint, maps, tmp / f"{engine}_loop", device)
        rows.append({**base, "method": "render loop (1 process/map)", "wall s": loop_seconds})
    batch = [sys.executable, "-m", "regionpaint", "batch", "--checkpoint", str(checkpoint), "--labels", str(maps)]
    batch += ["--device", device, "--json"]
    for size in (int(s) for s in args.batch_sizes.split(",") if s.strip()):
        seconds, stdout = _timed([*batch, "--out", str(tmp / f"{engine}_b{size}"), "--batch-size", str(size)], _env())
        rows.append({**base, "method": f"batch --batch-size {size}", "wall s": seconds, "steady": _steady_rate(stdout)})
    if not args.no_torchrun and _two_devices(device):
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        command = [*torchrun, "-m", "regionpaint", *batch[3:], "--out", str(tmp / f"{engine}_tr"), "--batch-size", "2"]
        seconds, stdout = _timed(command, _env(threads=1 if device == "cpu" else None))
        rows.append(
            {**base, "method": "torchrun 2 procs, --batch-size 2", "wall s": seconds, "steady": _steady_rate(stdout)}
        )
    for row in rows:
        row["img/s"] = args.batch_maps / row["wall s"]
        row["steady img/s"] = row.pop("steady", None)
        row["vs render loop"] = f"{loop_seconds / row['wall s']:.2f}x" if loop_seconds else "-"
    return rows


def _two_devices(device: str) -> bool:
    if not device.startswith("cuda"):
        return True
    import torch

    return torch.cuda.device_count() >= 2


def run(args: argparse.Namespace) -> list[dict]:
    from regionpaint.engines.device import resolve_device

    device = str(resolve_device(args.device))
    device = "cuda" if device.startswith("cuda") else device
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-batch-bench-") as tmp:
        for engine in (e.strip() for e in args.batch_engines.split(",") if e.strip()):
            rows += bench_engine(engine, args, Path(tmp), device)
    return rows
