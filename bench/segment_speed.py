"""Segmentation time per photo on the CPU: where a ``regionpaint segment`` call's seconds go, old tree vs new.

    python -m bench --only segment_speed                                        # this tree
    python -m bench --only segment_speed --segment-baseline /work/old-startup   # and an older tree, alternating
    python -m bench --only segment_speed --segment-full                         # + DRN at 2048 wide (minutes)

Random weights in the public checkpoints' exact layout (``tests/data/*_keys.txt``) are written to a temporary
``.pth`` and loaded as a user's file. Every row is one child process (``PYTHONPATH`` = the tree), as a
``segment`` command is, timing its phases: ``import_s`` (Python start to ``import torch`` and the segmenter
done), ``load_s`` (the weights read and the network built), ``first_s`` (the first ``Segmenter.segment``
call: oneDNN builds its kernels), then ``median_s`` / ``cpu_s`` (wall and process CPU seconds, median of
``--repeats`` further calls: the in-process cost the editor pays). CPU seconds are the steadier figure on a
shared machine. ``agree`` is the share of pixels whose label equals the exact run's in the same child.
Trees alternate case by case, so background load falls on both alike. Nothing here is asserted.

Cases: BiSeNet on a 512x512 face; DRN-D-105 on a 512x256 street photo (the size SPADE renders Cityscapes at) at
its default 2048 width (what an older tree always did; ``--segment-full`` only) and at ``native`` size, exact and
fast; with ``--segment-full`` also DRN on a 2048x1024 frame.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

NAME = "segment_speed"
DESCRIPTION = "segment: seconds per photo by phase (import, load, first call, next calls), CPU, random weights"
REPO = Path(__file__).resolve().parents[1]
LISTINGS = REPO / "tests" / "data"
WEIGHTS = {"bisenet-face": "bisenet_keys.txt", "drn-d-105": "drn_d_105_keys.txt"}
CHILD_TIMEOUT_S = 3600

# (segmenter, (width, height), size, fast, full-only)
CASES = (
    ("bisenet-face", (512, 512), None, False, False),
    ("bisenet-face", (512, 512), None, True, False),
    ("drn-d-105", (512, 256), None, False, True),  # resized to 2048 wide: ~100 s a call on 2 cores
    ("drn-d-105", (512, 256), "native", False, False),
    ("drn-d-105", (512, 256), "native", True, False),
    ("drn-d-105", (2048, 1024), None, False, True),
    ("drn-d-105", (2048, 1024), None, True, True),
)

# Runs in the child, in the tree under test: phases of one segment call, then repeats.
CHILD = r"""
import inspect, json, statistics, sys, time
started = float(sys.argv[1])
import numpy as np
import torch
from regionpaint.app.segmentation import segmenter_class
cls = segmenter_class(sys.argv[2])
imported = time.time()
segmenter = cls()
segmenter.load(sys.argv[3], "cpu")
loaded = time.time()
width, height, repeats = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
options = json.loads(sys.argv[7])
if options and "fast" not in inspect.signature(segmenter.segment).parameters:
    print(json.dumps({"unsupported": True}))
    sys.exit(0)
photo = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
label = segmenter.segment(photo, **options)
first = time.time() - loaded
walls, cpus = [], []
for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    segmenter.segment(photo, **options)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
agree = None
if options.get("fast"):
    exact = segmenter.segment(photo, **{**options, "fast": False})
    agree = float((exact == label).mean())
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported, "first_s": first,
                  "median_s": statistics.median(walls) if walls else None,
                  "cpu_s": statistics.median(cpus) if cpus else None, "agree": agree,
                  "threads": torch.get_num_threads(), "shape": list(label.shape)}))
"""


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--segmenter", action="append", help="only these segmenter ids")
    group.add_argument("--segment-baseline", metavar="DIR", help="also time this tree (e.g. a worktree of main)")
    group.add_argument(
        "--segment-full", action="store_true", help="also DRN-D-105 at 2048 wide (minutes per call on a CPU)"
    )


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


def child(tree: Path, segmenter_id: str, weights: Path, size: tuple[int, int], options: dict, repeats: int) -> dict:
    import time

    env = {**os.environ, "PYTHONPATH": str(tree), "REGIONPAINT_LOAD_PLUGINS": ""}
    command = [sys.executable, "-c", CHILD, str(time.time()), segmenter_id, str(weights), str(size[0]), str(size[1]),
               str(repeats), json.dumps(options)]  # fmt: skip
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: segment_speed child failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> list[dict]:
    repeats = max(1, getattr(args, "repeats", 3))
    wanted = getattr(args, "segmenter", None)
    full = bool(getattr(args, "segment_full", False))
    baseline = getattr(args, "segment_baseline", None)
    trees = {"this tree": REPO}
    if baseline:
        trees = {f"baseline {baseline}": Path(baseline).resolve(), **trees}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        weights = {}
        for segmenter_id, listing in WEIGHTS.items():
            weights[segmenter_id] = Path(folder) / f"{segmenter_id}.pth"
            random_weights(LISTINGS / listing, weights[segmenter_id])
        for segmenter_id, (width, height), size, fast, full_only in CASES:
            if (wanted and segmenter_id not in wanted) or (full_only and not full):
                continue
            options = {key: value for key, value in (("size", size), ("fast", fast)) if value}
            # Slow cases (~minutes a call) get a single timed call.
            case_repeats = 1 if full_only else repeats
            for label, tree in trees.items():
                found = child(tree, segmenter_id, weights[segmenter_id], (width, height), options, case_repeats)
                if found.get("unsupported"):
                    continue  # an older tree without --size / --fast
                rows.append({"tree": label, "segmenter": segmenter_id, "photo": f"{width}x{height}",
                             "size": size or "default", "mode": "fast" if fast else "exact", **found,
                             "repeats": case_repeats})  # fmt: skip
    return rows


if __name__ == "__main__":
    from bench.__main__ import standalone_main

    sys.exit(standalone_main(sys.modules[__name__]))
