"""Render speed of the three engines at full official size (random weights with the official key layout).

Checkpoints are written from ``../shared/specs`` (every key and shape of the official networks) into a
temporary folder, then loaded through the same path as a user's official checkpoint. Rows whose spec is
missing are skipped. Times are wall-clock medians on this machine; nothing here is asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regionpaint.engines.loading.options import format_opt_text

SPECS = Path(os.environ.get("REGIONPAINT_SPECS", Path(__file__).resolve().parents[1].parent / "shared" / "specs"))


@dataclass
class Case:
    name: str
    engine: str
    spec: str
    opt: dict[str, object]
    size: tuple[int, int]  # (W, H) network size
    label_nc: int
    instance: bool = True
    styles: bool = False


CASES = (
    Case(
        "SPADE cityscapes (ngf 64)",
        "spade",
        "spade_cityscapes_default.json",
        {
            "label_nc": 35,
            "crop_size": 512,
            "load_size": 512,
            "aspect_ratio": 2.0,
            "num_upsampling_layers": "more",
            "preprocess_mode": "fixed",
            "ngf": 64,
            "norm_G": "spectralspadesyncbatch3x3",
        },
        (512, 256),
        35,
    ),
    Case(
        "SEAN celebamask-hq (ngf 64, style 512)",
        "sean",
        "sean_celebahq_default.json",
        {
            "label_nc": 19,
            "no_instance": True,
            "crop_size": 256,
            "load_size": 256,
            "aspect_ratio": 1.0,
            "num_upsampling_layers": "normal",
            "preprocess_mode": "resize_and_crop",
            "ngf": 64,
        },
        (256, 256),
        19,
        instance=False,
        styles=True,
    ),
    Case(
        "pix2pixHD global 512p (ngf 64)",
        "pix2pixhd",
        "pix2pixhd_global_512p_default.json",
        {"netG": "global", "ngf": 64, "label_nc": 35, "resize_or_crop": "none", "loadSize": 1024, "fineSize": 512},
        (1024, 512),
        35,
    ),
)


def _random_state(spec: dict, seed: int):
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape, dtype in spec["keys"]:
        if dtype == "int64":
            state[key] = torch.zeros(shape, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.ones(shape)
        elif key.endswith(("weight_u", "weight_v")):
            vector = torch.randn(shape, generator=generator)
            state[key] = vector / vector.norm()
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.02
    return state


def write_checkpoint(case: Case, folder: Path) -> Path | None:
    """An official-layout folder for ``case`` with random weights; None when its spec is absent."""
    import torch

    spec_path = SPECS / case.spec
    if not spec_path.is_file():
        return None
    nets = json.loads(spec_path.read_text())["nets"]
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(_random_state(nets["G"], 0), folder / "latest_net_G.pth")
    (folder / "opt.txt").write_text(format_opt_text(case.opt), encoding="utf-8")
    return folder


def _inputs(case: Case) -> tuple[np.ndarray, np.ndarray | None]:
    width, height = case.size
    rows, cols = np.indices((height, width))
    label = ((rows // 37 + cols // 53) % case.label_nc).astype(np.uint8)
    instance = (label.astype(np.int32) * 1000 + (cols // 97)) if case.instance else None
    return label, instance


def median_seconds(run: Callable[[], object], repeats: int, warm_up: bool = False) -> float:
    """Median wall time of ``repeats`` calls of ``run`` (after one untimed call with ``warm_up``)."""
    if warm_up:
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_case(case: Case, folder: Path, device: str, repeats: int) -> list[object] | None:
    from regionpaint.engines.base import RenderRequest, StyleSource
    from regionpaint.plugins.manager import get_plugin_manager

    if write_checkpoint(case, folder) is None:
        return None
    engine = get_plugin_manager().engine_class(case.engine)()
    start = time.perf_counter()
    engine.load(folder, device)
    load_s = time.perf_counter() - start
    label, instance = _inputs(case)
    photo = np.random.RandomState(0).randint(0, 256, (*label.shape, 3)).astype(np.uint8)
    styles = {n: StyleSource(n, np.roll(photo, k, axis=1), label) for k, n in enumerate("AB")} if case.styles else {}

    def request(weight_b: float, label_map: np.ndarray = label) -> RenderRequest:
        mix = (("A", 1 - weight_b), ("B", weight_b)) if styles else None
        return RenderRequest(
            label=label_map, instance=instance, styles=styles, default_style=mix, seed=0, size=case.size
        )

    start = time.perf_counter()
    engine.generate(request(0.0))
    first_s = time.perf_counter() - start
    relabelled = [np.roll(label, k + 1, axis=0) for k in range(repeats)]
    new_label_s = median_seconds(lambda: engine.generate(request(0.0, relabelled.pop())), repeats)
    weights = iter(np.linspace(0.1, 0.9, repeats))
    style_s = median_seconds(lambda: engine.generate(request(float(next(weights)))), repeats) if styles else None
    engine.release()
    return [
        case.name,
        f"{case.size[0]}x{case.size[1]}",
        f"{load_s:.2f}",
        f"{first_s:.2f}",
        f"{new_label_s:.2f}",
        "-" if style_s is None else f"{style_s:.2f}",
    ]


HEADER = ["engine", "size", "load s", "first render s", "new label s", "style change s"]


def run(device: str = "cpu", repeats: int = 3) -> tuple[str, list[str], list[list[object]]]:
    """(title, header, rows) for the benchmark table."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-bench-") as tmp:
        for index, case in enumerate(CASES):
            row = bench_case(case, Path(tmp) / f"case{index}", device, repeats)
            rows.append(row if row is not None else [case.name, "-", "spec missing", "", "", ""])
    return f"Render speed, full-size official architectures, device {device}", HEADER, rows
