"""Engine × size × mode: the official forward (old code) and regionpaint's exact and fast paths, side by side.

Each case (full-size official networks with random weights, real label maps from ``../shared/fixtures``) runs in a child
process per allocator setting, so the old allocator behaviour (``default``: glibc as it comes) and the new one
(``keep``: :func:`regionpaint.engines.acceleration.memory.keep_working_memory`) are measured in the same run. In each
child the official-style forward (:mod:`bench.official`) and the engine's ``generate`` run on the same inputs and
weights, alternately, so machine load affects them alike.

Row fields: engine, size, mode (official, exact, fast, fast+compile), allocator, first_s (first call, includes
kernel warm-up; for fast+compile the seconds from the first request to the first compiled render, a first
compile: each child gets an empty inductor cache), median_s, p90_s, cpu_s (median CPU seconds of the process,
all threads), peak_mb (peak RSS of the child during that mode), psnr_vs_exact (uint8 images, dB; inf when
identical), speedup and cpu_speedup (official with the default allocator / this row, wall and CPU). ``exact``,
``fast`` and ``fast+compile`` render a new label map every call (no label caches) and re-encode SEAN's style
photo.
PSNR on random full-size weights says how far the arithmetic moves, not what a person sees (random
networks amplify rounding); ``fast_quality`` and ``fast_refs`` measure it on trained checkpoints.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

NAME = "engine_speed"
COMPILED = "fast+compile"  # the mode name of fast with the torch.compile'd forward (where an engine has one)
COMPILE_ENGINES = ("spade", "pix2pixhd")  # SEAN's render loop (noise draws, per-block codes) stays eager
OPENVINO = "fast+openvino"  # fast+compile with REGIONPAINT_COMPILE_BACKEND=openvino (pix2pixHD, where installed)
BARE = "forward"  # regionpaint's bare generator forward: generate's overhead is generate - forward
DESCRIPTION = "official forward vs regionpaint exact/fast, full-size networks, random weights"

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CITY_LABEL = SHARED / "fixtures/cityscapes/test_label/frankfurt_000000_000576_gtFine_labelIds.png"
CITY_INST = SHARED / "fixtures/cityscapes/test_inst/frankfurt_000000_000576_gtFine_instanceIds.png"
FACE_LABEL = SHARED / "refs/sean_celebahq/datasets/CelebA-HQ/test/labels_A/28083.png"
FACE_PHOTO = SHARED / "refs/sean_celebahq/datasets/CelebA-HQ/test/images_A/28083.jpg"

# name -> (render_speed case index, network size (W, H))
CASES: dict[str, tuple[int, tuple[int, int]]] = {
    "spade": (0, (512, 256)),
    "sean": (1, (256, 256)),
    "pix2pixhd": (2, (512, 256)),
}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--engines", default=",".join(CASES), help="comma-separated: spade, sean, pix2pixhd")
    group.add_argument("--allocators", default="default,keep", help="comma-separated: default, keep")
    group.add_argument("--threads", type=int, default=None, help="torch threads per child (default: torch's)")
    group.add_argument(
        "--no-compile", action="store_true", help=f"skip the {COMPILED} rows (each compiles for 20-60 s)"
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _times(run: Callable[[int], Any], repeats: int) -> tuple[float, list[float], list[float]]:
    """(first call seconds, the next ``repeats`` calls' wall seconds, their CPU seconds); ``run`` gets the
    call index. CPU seconds (all threads of the process) are the steadier measure on a shared machine."""
    stamps, cpu = [], []
    for k in range(repeats + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        run(k)
        stamps.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return stamps[0], stamps[1:], cpu[1:]


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def _read_ids(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def _inputs(engine_id: str, size: tuple[int, int]) -> dict[str, Any]:
    """Real label maps where the fixtures exist, a blocky synthetic map otherwise."""
    from PIL import Image

    if engine_id in ("spade", "pix2pixhd") and CITY_LABEL.is_file():
        return {"label": _read_ids(CITY_LABEL), "instance": _read_ids(CITY_INST).astype(np.int32)}
    if engine_id == "sean" and FACE_LABEL.is_file():
        photo = np.asarray(Image.open(FACE_PHOTO).convert("RGB"))
        return {"label": _read_ids(FACE_LABEL), "instance": None, "photo": photo}
    from bench.render_speed import CASES as SPEED_CASES
    from bench.render_speed import _inputs as synthetic

    label, instance = synthetic(SPEED_CASES[CASES[engine_id][0]])
    photo = np.random.RandomState(0).randint(0, 256, (*label.shape, 3)).astype(np.uint8)
    return {"label": label, "instance": instance, "photo": photo}


def _shifted(label: np.ndarray, k: int) -> np.ndarray:
    """A different label map per call (defeats label caches), same statistics."""
    return label if k == 0 else np.roll(label, 8 * k, axis=1)


class Child:
    """One case in one process: the engine loaded, the official forward prepared on the same inputs."""

    def __init__(self, engine_id: str, folder: Path, repeats: int) -> None:
        import torch

        from regionpaint.plugins.manager import get_plugin_manager

        self.engine_id, self.repeats = engine_id, repeats
        self.size = CASES[engine_id][1]
        self.engine = get_plugin_manager().engine_class(engine_id)()
        self.engine.load(folder, "cpu")
        self.inputs = _inputs(engine_id, self.size)
        self.state = torch.load(folder / "latest_net_G.pth", map_location="cpu", weights_only=True)
        self.reference_images: dict[int, np.ndarray] = {}

    def request(self, k: int, fast: bool, compile: bool = False, **changes: Any) -> Any:
        from regionpaint.engines.base import RenderRequest, StyleSource

        label = changes.pop("label", _shifted(self.inputs["label"], k))
        instance = self.inputs.get("instance")
        styles, mix = {}, None
        if self.engine_id == "sean":
            photo, face = self.inputs["photo"], self.inputs["label"]
            styles = {"A": StyleSource("A", photo, face), "B": StyleSource("B", np.flip(photo, 1).copy(), face)}
            weight = changes.pop("weight", 0.0)
            mix = (("A", 1 - weight), ("B", weight)) if weight else (("A", 1.0),)
        instance = None if instance is None else _shifted(instance, k)
        return RenderRequest(
            label=label,
            instance=instance,
            styles=styles,
            default_style=mix,
            seed=0,
            size=self.size,
            fast=fast,
            compile=compile,
        )

    def fresh(self) -> None:
        """Forget what the engine cached (style codes), so every call does the whole work."""
        codes = getattr(self.engine, "_codes", None)
        if codes is not None:
            codes.clear()

    def official(self) -> Callable[[], Any]:
        """The official forward on the engine's own network inputs for call 0."""
        from bench import official

        captured = self._network_inputs()
        if self.engine_id == "spade":
            config = self.engine.config
            return official.spade_forward(self.state, captured, config.latent_size, config.num_upsampling_layers)
        if self.engine_id == "sean":
            import torch

            config = self.engine.config
            photo = self._sean_photo()
            more = config.num_upsampling_layers == "more"
            seg = captured

            def run() -> Any:
                torch.manual_seed(0)
                return official.sean_forward(self.state, seg, photo, config.latent_size, more)()

            return run
        generator = self._generator()
        return lambda: generator(captured)

    def bare_forward(self) -> Callable[[], Any]:
        """regionpaint's own generator forward (exact) on the engine's network input for call 0, a fresh copy
        per call (so no per-segmap cache helps it): ``generate`` minus its preprocessing and conversions."""
        import torch

        captured = self._network_inputs()
        generator = self._generator()
        convs = self.engine._convs  # the render's network: the engine's Winograd convolutions
        if self.engine_id == "sean":
            photo = self._sean_photo()
            return lambda: generator(captured.clone(), photo, torch.Generator().manual_seed(0), convs)
        if self.engine_id == "pix2pixhd":  # and the one-hot head's lookup
            with torch.inference_mode():
                codes = self.engine._network_input(self.request(0, False))[2]
            head = self.engine._input_head
            return lambda: generator(captured.clone(), convs, None if codes is None else head(codes.clone(), captured))
        return lambda: generator(captured.clone(), conv=convs)

    def generate_overhead(self, pairs: int) -> float:
        """What exact ``generate`` adds to the bare forward (preprocessing, conversions), as a share of the
        forward: the median over alternating (forward, generate) pairs. Rows timed one after the other
        drift by more than the overhead itself once the forward is under a second."""
        import torch

        forward = self.bare_forward()
        shares = []
        for k in range(pairs + 1):
            with torch.inference_mode():
                start = time.perf_counter()
                forward()
                bare = time.perf_counter() - start
            self.fresh()
            start = time.perf_counter()
            self.engine.generate(self.request(k + 1, False))
            if k:  # the first pair warms both up
                shares.append((time.perf_counter() - start - bare) / bare)
        return sorted(shares)[len(shares) // 2]

    def _generator(self) -> Any:
        """The engine's loaded generator module."""
        return self.engine._generator if self.engine_id == "spade" else self.engine._require().generator

    def _sean_photo(self) -> Any:
        """SEAN's style photo as the official test path feeds it (preprocessed, a [-1, 1] tensor)."""
        from regionpaint.engines.layers.tensors import image_to_tensor
        from regionpaint.engines.sean import preprocess

        return image_to_tensor(np.array(preprocess.transform(self.inputs["photo"], self.engine.config, self.size)))

    def _network_inputs(self) -> Any:
        """The generator input tensor the engine builds for call 0 (captured, not rebuilt)."""
        import torch

        if self.engine_id == "sean":
            self.engine.generate(self.request(0, False))
            return self.engine._context[1].seg
        net = self._generator()
        captured: list[Any] = []
        hook = net.register_forward_pre_hook(lambda _m, args: captured.append(args[0].clone()))
        try:
            if self.engine_id == "spade":
                self.engine._label_cache.reset()
            self.engine.generate(self.request(0, False))
        finally:
            hook.remove()
        with torch.inference_mode():
            return captured[0]

    def time_mode(self, mode: str) -> dict[str, Any]:
        import torch

        from regionpaint.engines.acceleration.memory import peak_rss_mb, reset_peak_rss
        from regionpaint.engines.layers.tensors import tensor_to_image

        reset_peak_rss()
        if mode in ("official", BARE):
            forward = self.official() if mode == "official" else self.bare_forward()
            with torch.inference_mode():
                first, times, cpu = _times(lambda k: forward(), self.repeats)
                image = tensor_to_image(forward().float())
        else:
            fast, compiled = mode != "exact", mode in (COMPILED, OPENVINO)
            if compiled:
                from regionpaint.engines.acceleration.compiled import BACKEND_ENV

                os.environ[BACKEND_ENV] = "openvino" if mode == OPENVINO else "inductor"
                self.engine._compiler = None  # a compiler of this mode's backend

            def call(k: int) -> Any:
                self.fresh()
                # k + 1: call 0's label is the one _network_inputs rendered (the label caches hold it)
                return self.engine.generate(self.request(k + 1, fast, compile=compiled))

            if compiled:
                first = self._compile_seconds()
                _, times, cpu = _times(call, self.repeats)
            else:
                first, times, cpu = _times(call, self.repeats)
            self.fresh()
            image = self.engine.generate(self.request(0, fast, compile=compiled)).image
        self.reference_images[mode] = image
        backend = {"backend": self.engine._compiler.backend} if mode in (COMPILED, OPENVINO) else {}
        return {"mode": mode, **backend, "first_s": first, "median_s": statistics.median(times), "p90_s": _p90(times),
                "cpu_s": statistics.median(cpu), "peak_mb": peak_rss_mb()}  # fmt: skip

    def _compile_seconds(self) -> float:
        """Seconds from the first compiled-mode request to a compiled render (the background compile)."""
        start = time.perf_counter()
        self.engine.generate(self.request(1, True, compile=True))  # starts the compile, renders eagerly
        compiler = getattr(self.engine, "_compiler", None)
        if compiler is None:
            raise RuntimeError(f"{self.engine_id}: fast+compile requested but the engine started no compile")
        compiler.wait()
        result = self.engine.generate(self.request(2, True, compile=True))
        if not result.info.get("compiled"):
            raise RuntimeError(f"{self.engine_id}: the compiled forward did not render (see the log)")
        return time.perf_counter() - start

    def rerenders(self, fast: bool, edits: int = 3) -> dict[str, float]:
        """SEAN editing times: a style slider move (label cached) and a brush stroke (new label, codes cached)."""
        self.engine.generate(self.request(0, fast))
        weights = np.linspace(0.2, 0.8, edits)
        style = [self._seconds(lambda w=w: self.engine.generate(self.request(0, fast, weight=w))) for w in weights]
        label = self.inputs["label"]
        strokes = []
        for k in range(edits):
            painted = label.copy()
            y, x = 180 + 40 * k, 200 + 30 * k
            painted[y : y + 24, x : x + 24] = 13  # a hair stroke
            strokes.append(self._seconds(lambda p=painted: self.engine.generate(self.request(0, fast, label=p))))
        return {"style_only_rerender_s": statistics.median(style), "label_edit_rerender_s": statistics.median(strokes)}

    @staticmethod
    def _seconds(run: Callable[[], Any]) -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start


def child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--folder", required=True)
    parser.add_argument("--allocator", default="keep")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="official,exact,fast")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--edits", type=int, default=3, help="SEAN style-only and label-edit renders timed")
    args = parser.parse_args(argv)
    if args.allocator == "keep":
        from regionpaint.engines.acceleration.memory import keep_working_memory

        keep_working_memory()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    child = Child(args.engine, Path(args.folder), args.repeats)
    modes = args.modes.split(",")
    rows = [child.time_mode(mode) for mode in modes]
    if BARE in modes and "exact" in modes:
        overhead = child.generate_overhead(max(3, args.repeats))
        next(r for r in rows if r["mode"] == "exact")["generate_overhead"] = overhead
    exact = child.reference_images.get("exact")
    for row in rows:
        image = child.reference_images[row["mode"]]
        row["psnr_vs_exact"] = None if exact is None else psnr(image, exact)
    extra = {}
    if args.engine == "sean" and args.allocator == "keep":
        extra = {"exact": child.rerenders(False, args.edits), "fast": child.rerenders(True, args.edits)}
    print("RESULT " + json.dumps({"rows": rows, "rerender": extra}), flush=True)
    return 0


def run_child(
    engine_id: str, folder: Path, allocator: str, repeats: int, modes: str, threads: int = 0, edits: int = 3
) -> dict[str, Any]:
    env = dict(os.environ, REGIONPAINT_MALLOC="default" if allocator == "default" else "")
    # A fresh inductor cache per child: the compile time reported is a first compile, not a cache hit.
    command = [sys.executable, "-m", "bench.engine_speed", "--engine", engine_id, "--folder", str(folder),
               "--allocator", allocator, "--repeats", str(repeats), "--modes", modes,
               "--threads", str(threads or 0), "--edits", str(edits)]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="regionpaint-inductor-") as cache:
        env["TORCHINDUCTOR_CACHE_DIR"] = cache
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"bench child {engine_id}/{allocator} failed:\n{done.stderr[-3000:]}")


def run(args: argparse.Namespace) -> list[dict]:
    from bench.render_speed import CASES as SPEED_CASES
    from bench.render_speed import write_checkpoint
    from regionpaint.engines.acceleration.compiled import openvino_available

    repeats = getattr(args, "repeats", 3)
    engines = [e.strip() for e in getattr(args, "engines", ",".join(CASES)).split(",") if e.strip()]
    allocators = [a.strip() for a in getattr(args, "allocators", "default,keep").split(",") if a.strip()]
    rows: list[dict] = []
    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="regionpaint-bench-") as tmp:
        for engine_id in engines:
            index, size = CASES[engine_id]
            folder = write_checkpoint(SPEED_CASES[index], Path(tmp) / engine_id)
            if folder is None:
                rows.append({"engine": engine_id, "size": "-", "mode": "spec missing"})
                continue
            baseline = None
            quick = getattr(args, "quick", False)
            threads = getattr(args, "threads", None) or 0
            for allocator in allocators:
                # The old code = the official forward with glibc's default allocator; the new = keep.
                old = "official" if quick else "official,exact"
                modes = old if allocator == "default" else f"official,{BARE},exact,fast"
                if allocator != "default" and engine_id in COMPILE_ENGINES and not getattr(args, "no_compile", False):
                    modes += f",{COMPILED}"
                    if engine_id == "pix2pixhd" and openvino_available():
                        modes += f",{OPENVINO}"
                result = run_child(engine_id, folder, allocator, repeats, modes, threads, 1 if quick else 3)
                for row in result["rows"]:
                    if row["mode"] == "official" and baseline is None:
                        baseline = (row["median_s"], row["cpu_s"])
                    rows.append({"engine": engine_id, "size": f"{size[0]}x{size[1]}", "allocator": allocator, **row})
                if result["rerender"]:
                    summary["sean_rerender"] = result["rerender"]
            for row in rows:
                if row.get("engine") == engine_id and baseline:
                    row["speedup"] = baseline[0] / row["median_s"]
                    row["cpu_speedup"] = baseline[1] / row["cpu_s"]
    args._engine_speed_summary = summary  # read by bench.__main__ for the JSON document
    return rows


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
