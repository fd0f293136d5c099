"""Segmentation time per photo on the CPU: BiSeNet on a 512x512 face, DRN-D-105 on a 2048x1024 street.

Random weights in the public checkpoints' exact layout (``tests/data/*_keys.txt``) are written to a
temporary file and loaded through the same path as a user's file; the timed call is
``Segmenter.segment`` (preprocessing, network, resize and id mapping). Times are wall-clock medians
on this machine, after one warm-up call (none with ``--repeats 1``: DRN-D-105 at full size takes
minutes on a small CPU); nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

NAME = "segment_speed"
DESCRIPTION = "seconds per photo, CPU, random weights at full size (BiSeNet 512² face, DRN-D-105 2048x1024 street)"
LISTINGS = Path(__file__).resolve().parents[1] / "tests" / "data"
CASES = (
    ("bisenet-face", "bisenet_keys.txt", (512, 512)),
    ("drn-d-105", "drn_d_105_keys.txt", (2048, 1024)),
)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--segmenter", action="append", help="only these segmenter ids")


def random_weights(listing: Path, path: Path) -> None:
    import torch

    generator = torch.Generator().manual_seed(0)
    state = {}
    for line in listing.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape, dtype = line.split()
        dims = () if shape == "scalar" else tuple(int(d) for d in shape.split("x"))
        if getattr(torch, dtype).is_floating_point:
            tensor = torch.randn(dims, generator=generator) * 0.05
            state[key] = tensor.abs() + 1 if key.endswith("running_var") else tensor
        else:
            state[key] = torch.zeros(dims, dtype=getattr(torch, dtype))
    torch.save(state, path)


def run(args: argparse.Namespace) -> list[dict]:
    import torch

    from regionpaint.app.segmentation import segmenter_class

    repeats = max(1, getattr(args, "repeats", 3))
    wanted = getattr(args, "segmenter", None)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for segmenter_id, listing, (width, height) in CASES:
            if wanted and segmenter_id not in wanted:
                continue
            weights = Path(folder) / f"{segmenter_id}.pth"
            random_weights(LISTINGS / listing, weights)
            segmenter = segmenter_class(segmenter_id)()
            segmenter.load(weights, "cpu")
            photo = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
            if repeats > 1:
                segmenter.segment(photo)  # warm-up: allocator and oneDNN kernels
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                segmenter.segment(photo)
                times.append(time.perf_counter() - start)
            rows.append(
                {
                    "segmenter": segmenter_id,
                    "photo": f"{width}x{height}",
                    "seconds": statistics.median(times),
                    "repeats": repeats,
                    "threads": torch.get_num_threads(),
                }
            )
            segmenter.release()
    return rows
