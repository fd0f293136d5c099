"""Training speed: s/iter of the official training iteration and of regionpaint's trainer, side by side.

Default rows (full size, the issue's configurations, batch 1, random weights, VGG19 loss with random
weights written in torchvision's layout so both sides pay for it):

* SEAN CelebAMask-HQ 256x256, ngf 64, style 512 (the fixture CelebAMask-HQ label map and photo);
* SPADE Cityscapes 256x128 (ngf 64, ``more``), pix2pixHD global 256x128 (ngf 64): fixture Cityscapes
  labels, instances and photos resized to 256x128.

Each (engine, mode) runs in its own process (:mod:`bench.train_child`), old and new alternately, started
from a small launcher process so the child's ``ru_maxrss`` (from ``wait4``) is its own peak resident set
and not the benchmark process's (Linux counts the fork-time RSS). ``official`` = the official trainer's
step with the official forwards (:mod:`bench.official_train`) on the same modules; ``regionpaint`` =
:class:`regionpaint.engines.training.trainer.Trainer` as ``regionpaint train`` runs it. s/iter = median of the timed
iterations after warm-up. ``--quick``: SEAN only, one round, 2 timed iterations (~3 minutes on 2 cores).

``--train-small`` runs the older rows instead: iterations/second of each engine's trainer on a fixed small
configuration (batch 2 at 128x128, generated data, 8 classes, ngf 16, no VGG loss).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAME = "train_speed"
DESCRIPTION = "training s/iter, official vs regionpaint side by side (full size, batch 1; G+D step each)"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# The configurations: (engine, layout, size label, given options).
FULL: dict[str, tuple[str, str, dict]] = {
    "sean": ("celebamask-hq", "256x256", {"crop_size": 256, "load_size": 256}),
    "spade": ("cityscapes", "256x128", {"crop_size": 256, "load_size": 256}),
    "pix2pixhd": ("cityscapes", "256x128", {"load_size": 256, "crop_size": 256}),
}
FULL_COMMON = {"batchSize": 1, "nThreads": 0, "save_every": 10**9, "sample_every": 10**9, "log_every": 1}
FULL_COMMON["save_epoch_freq"] = 10**6

COMMON = {"batchSize": 2, "crop_size": 128, "load_size": 128, "label_nc": 8, "no_vgg_loss": True, "ngf": 16}
COMMON.update(ndf=16, save_every=10**9, sample_every=10**9, log_every=1, save_epoch_freq=10**6)
CONFIGS: dict[str, dict] = {
    "spade": {},
    "sean": {"style_length": 64},
    "pix2pixhd": {"n_downsample_global": 4, "n_blocks_global": 4, "instance_feat": True, "nef": 8},
}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--train-steps", type=int, default=None, help="timed iterations (default: 4 CPU, 40 CUDA)")
    group.add_argument("--train-engines", default=",".join(FULL), help="comma-separated engines")
    group.add_argument("--train-rounds", type=int, default=None, help="old/new rounds (default 2, --quick 1)")
    group.add_argument("--train-small", action="store_true", help="instead: the small-config trainer rows")


def measure(engine: str, data: Path, out: Path, device: str, warmup: int, steps: int) -> dict:
    from regionpaint.engines.training.options import resolve_options
    from regionpaint.engines.training.trainer import Trainer

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
    return run_small(args) if getattr(args, "train_small", False) else run_full(args)


def run_small(args: argparse.Namespace) -> list[dict]:
    import torch

    from regionpaint.engines.device import resolve_device
    from regionpaint.engines.training.synthetic import write_dataset

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


# ------------------------------------------------------------------------------------ side by side
LAUNCHER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True)
out = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"status": status, "maxrss_kb": usage.ru_maxrss, "stdout": out}))
"""


def launch(spec: dict) -> dict:
    """Run one child through the small launcher; its RESULT line plus the child's peak RSS (MiB)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = [sys.executable, "-m", "bench.train_child", json.dumps(spec)]
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *child], capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode:
        raise RuntimeError(f"train_speed launcher failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    lines = [line for line in report["stdout"].splitlines() if line.startswith("RESULT ")]
    if report["status"] or not lines:
        raise RuntimeError(f"train_speed child {spec['engine']}/{spec['mode']} failed: {done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["peak_mb"] = report["maxrss_kb"] / 1024
    return result


def prepare_data(root: Path, engine: str) -> tuple[Path, str]:
    """A two-sample dataset for ``engine``'s full-size configuration, from the fixtures where present."""
    import numpy as np
    from PIL import Image

    from regionpaint.engines.training.synthetic import write_dataset

    layout, size, _ = FULL[engine]
    w, h = (int(v) for v in size.split("x"))
    folder = root / f"data-{layout}"
    if folder.exists():
        return folder, layout
    city = SHARED / "fixtures" / "cityscapes"
    celeba = SHARED / "refs" / "sean_celebahq" / "datasets" / "CelebA-HQ" / "test"
    if layout == "cityscapes" and (city / "train_label").is_dir():
        labels = sorted((city / "train_label").glob("*.png"))[:2]
        for label in labels:
            stem = label.name.replace("_gtFine_labelIds.png", "")
            city_name = stem.split("_")[0]
            base = folder / "gtFine" / "train" / city_name
            photo_dir = folder / "leftImg8bit" / "train" / city_name
            base.mkdir(parents=True, exist_ok=True)
            photo_dir.mkdir(parents=True, exist_ok=True)
            Image.open(label).resize((w, h), Image.NEAREST).save(base / label.name)
            inst = np.array(Image.open(city / "train_inst" / f"{stem}_gtFine_instanceIds.png"))
            inst = np.array(Image.fromarray(inst.astype(np.int32)).resize((w, h), Image.NEAREST)).astype(np.uint16)
            Image.fromarray(inst).save(base / f"{stem}_gtFine_instanceIds.png")
            photo = Image.open(city / "train_img" / f"{stem}_leftImg8bit.png").convert("RGB")
            photo.resize((w, h), Image.BICUBIC).save(photo_dir / f"{stem}_leftImg8bit.png")
        return folder, layout
    if layout == "celebamask-hq" and (celeba / "labels_A").is_dir():
        (folder / "train" / "labels").mkdir(parents=True)
        (folder / "train" / "images").mkdir(parents=True)
        for k, part in enumerate(("A", "A")):  # two copies of the one index-form label map
            label = next((celeba / f"labels_{part}").glob("*.png"))
            photo = next((celeba / f"images_{part}").glob("*.jpg"))
            Image.open(label).resize((w, h), Image.NEAREST).save(folder / "train" / "labels" / f"s{k}.png")
            photo = Image.open(photo).convert("RGB").resize((w, h), Image.BICUBIC)
            photo.save(folder / "train" / "images" / f"s{k}.jpg")
        return folder, layout
    # No fixtures: generated rectangles (fewer classes per image than real labels: a milder per-class loop).
    label_nc = 19 if layout == "celebamask-hq" else 35
    write_dataset(folder, layout, count=2, size=(w, h), label_nc=label_nc, with_instances=layout == "cityscapes")
    return folder, layout


def write_random_vgg(path: Path) -> Path:
    """VGG19 features with random weights in torchvision's layout (timing does not depend on the values)."""
    import torch

    from regionpaint.engines.training.vgg import VGG19Features

    torch.manual_seed(0)
    torch.save(VGG19Features().state_dict(), path)
    return path


def run_full(args: argparse.Namespace) -> list[dict]:
    quick = getattr(args, "quick", False)
    engines = ["sean"] if quick else [e.strip() for e in getattr(args, "train_engines", ",".join(FULL)).split(",")]
    rounds = getattr(args, "train_rounds", None) or (1 if quick else 2)
    iters = getattr(args, "train_steps", None) or (2 if quick else 3)
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="regionpaint-bench-train-") as tmp:
        root = Path(tmp)
        vgg = write_random_vgg(root / "vgg19-random.pth")
        for engine in engines:
            layout_folder, layout = prepare_data(root, engine)
            given = {**FULL_COMMON, **FULL[engine][2], "vgg_weights": str(vgg)}
            for _ in range(rounds):
                for mode in ("official", "regionpaint"):
                    spec = {"engine": engine, "mode": mode, "dataroot": str(layout_folder), "layout": layout}
                    spec.update(given=given, warmup=1, iters=iters)
                    results.setdefault((engine, mode), []).append(launch(spec))
    rows = []
    for (engine, mode), runs in results.items():
        times = [t for r in runs for t in r["times"]]
        official = results.get((engine, "official"))
        row = {
            "engine": engine,
            "size": FULL[engine][1],
            "mode": mode,
            "s_per_iter": statistics.median(times),
            "peak_mb": max(r["peak_mb"] for r in runs),
            "iters": len(times),
        }
        if official and mode != "official":
            old = statistics.median(t for r in official for t in r["times"])
            row["speedup_vs_official"] = old / row["s_per_iter"]
            row["peak_vs_official"] = row["peak_mb"] / max(r["peak_mb"] for r in official)
        rows.append(row)
    return rows
