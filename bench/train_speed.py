"""Training speed: iterations per second of each engine's trainer on a fixed small configuration.

One iteration = one generator step + one discriminator step on a batch of 2 at 128x128 (generated data,
8 label classes, instance maps, no VGG loss so the numbers do not depend on the weights being present). The first
iterations warm up (kernel selection, allocator) and are not timed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

NAME = "train_speed"
DESCRIPTION = "training iterations/second, batch 2 at 128x128, fixed small configs (G+D step each)"

COMMON = {"batchSize": 2, "crop_size": 128, "load_size": 128, "label_nc": 8, "no_vgg_loss": True, "ngf": 16}
COMMON.update(ndf=16, save_every=10**9, sample_every=10**9, log_every=1, save_epoch_freq=10**6)
CONFIGS: dict[str, dict] = {
    "spade": {},
    "sean": {"style_length": 64},
    "pix2pixhd": {"n_downsample_global": 4, "n_blocks_global": 4, "instance_feat": True, "nef": 8},
}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--train-steps", type=int, default=None, help="timed iterations (default: 4 CPU, 40 CUDA)")
    group.add_argument("--train-engines", default=",".join(CONFIGS), help="comma-separated engines")


def measure(engine: str, data: Path, out: Path, device: str, warmup: int, steps: int) -> dict:
    from engines.training.options import resolve_options
    from engines.training.trainer import Trainer

    given = {**COMMON, **CONFIGS[engine], "steps": warmup + steps}
    opt = resolve_options(engine, data, out, given, "flat", device)
    stamps: dict[int, float] = {}
    started: dict[str, str] = {}

    def emit(event: dict) -> None:
        if event["event"] == "step":
            stamps[event["step"]] = time.perf_counter()
        elif event["event"] == "start":
            started["device"] = event["device"]

    Trainer(opt, emit).run()
    seconds = stamps[warmup + steps] - stamps[warmup]
    return {
        "engine": engine,
        "device": started.get("device"),
        "config": f"ngf 16, ndf 16, {_describe(engine)}",
        "it/s": steps / seconds,
        "s/it": seconds / steps,
        "images/s": steps * COMMON["batchSize"] / seconds,
    }


def _describe(engine: str) -> str:
    return {"spade": "spectral SPADE G, 2x4-layer D", "sean": "style 64, 2x3-layer D"}.get(
        engine, "global G 4 down/4 blocks + encoder, 2x3-layer D"
    )


def run(args: argparse.Namespace) -> list[dict]:
    import torch

    from engines.common.device import resolve_device
    from engines.training.synthetic import write_dataset

    device = getattr(args, "device", "auto")
    cuda = resolve_device(device).type == "cuda"
    steps = getattr(args, "train_steps", None) or (40 if cuda else 4)
    warmup = 5 if cuda else 2
    torch.backends.cudnn.benchmark = True
    rows = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-bench-") as tmp:
        data = write_dataset(Path(tmp) / "data", "flat", count=8, size=(128, 128), label_nc=8)
        for engine in getattr(args, "train_engines", ",".join(CONFIGS)).split(","):
            rows.append(measure(engine.strip(), data, Path(tmp) / engine, device, warmup, steps))
    return rows
