"""torch.compile'd fast-mode forwards, compiled on a background thread and cached per input shape.

Compiling costs 20-60 s per new shape on a laptop CPU (measured in bench/engine_speed.py on 2 cores:
inductor 28 s for SPADE Cityscapes 512x256, 30 s for pix2pixHD global 512x256) and pays off only after many
renders of that shape, so it is an explicit choice (:attr:`regionpaint.engines.base.RenderRequest.compile`, the editor's
"Compile", ``batch --compile``) and it never blocks a render: :meth:`BackgroundCompiler.get` starts the
compile of a shape it has not seen and returns None until the compiled forward is ready; the caller renders
eagerly meanwhile. A compile that fails is logged once and that shape stays eager.

Backends: inductor (``torch.compile``) everywhere; OpenVINO (``pip install openvino``, in the ``fast``
extra; opt-in with ``REGIONPAINT_COMPILE_BACKEND=openvino``) for networks whose engine measured it faster
on CPU (pix2pixHD). Inductor's *freezing* folds the
weights into the compiled graph (oneDNN weight prepacking on CPU: most of its gain over eager bf16 for
weight-heavy layers), which is right for inference networks whose weights never change after loading; an
engine that reloads makes a new compiler.

Whether the compiled graph is faster than eager is measured, not assumed (on a 2-core AMX Xeon, pix2pixHD's
compiled fast forward took 1.77 s against 0.67 s eager): once a shape's graph is ready, the compile thread times
it against the eager forward ("compile": the backend's name or "eager", :mod:`.autotune`) and a slower graph is
dropped; a shape measured slower before is not compiled again on this machine.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any

import torch

log = logging.getLogger(__name__)

READY, COMPILING, FAILED = "ready", "compiling", "failed"
SLOWER = "slower"  # compiled, and measured slower than eager on this machine: renders stay eager


class BackgroundCompiler:
    """Compiled versions of ``forward`` per key (the input shapes and mode), built on a daemon thread.

    ``forward(*args)`` is the eager function; ``context()`` returns the context the compiled function is
    traced and run under (inference mode + the fast mode's autocast), so the graph matches the eager path.
    """

    def __init__(
        self, forward: Callable[..., Any], context: Callable[[], Any], name: str, backend: str = "inductor"
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown compile backend {backend!r} (expected one of {BACKENDS})")
        self.forward = forward
        self.context = context
        self.name = name
        self.backend = backend
        self._lock = threading.Lock()
        self._state: dict[Hashable, tuple[str, Any]] = {}
        self._threads: list[threading.Thread] = []

    def get(self, key: Hashable, example: tuple[Any, ...]) -> Callable[..., Any] | None:
        """The compiled forward of ``key`` when ready; else None, starting its compile on first sight.

        ``example`` holds the inputs of this call; the compile thread traces and runs on them as they are
        (read only: clones could differ in strides, and the compiled graph is specialised on strides).
        """
        with self._lock:
            state = self._state.get(key)
            if state is None and self._eager_measured_faster(key):
                self._state[key] = (SLOWER, None)
                return None
            if state is None:
                self._state[key] = (COMPILING, None)
                thread = threading.Thread(
                    target=self._compile, args=(key, example), name=f"regionpaint-compile-{self.name}", daemon=True
                )
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
                return None
        return state[1] if state[0] == READY else None

    def run(self, key: Hashable, example: tuple[Any, ...]) -> Any | None:
        """The compiled forward's result on ``example`` when ready, else None (the caller runs eagerly).

        Guards are checked with recompiles forbidden: inputs that would need a new graph raise here
        instead of compiling on the render thread; that key is then marked failed and stays eager.
        """
        compiled = self.get(key, example)
        if compiled is None:
            return None
        try:
            if self.backend == "openvino":
                return compiled(*example)
            with torch.compiler.set_stance("fail_on_recompile"):
                return compiled(*example)
        except Exception as exc:  # noqa: BLE001 - fall back to eager, never fail a render on the compiled path
            log.warning("%s: compiled forward not usable for %s (renders stay eager): %s", self.name, key, exc)
            with self._lock:
                self._state[key] = (FAILED, None)
            return None

    def status(self, key: Hashable) -> str | None:
        """READY, COMPILING, FAILED, SLOWER or None (never asked)."""
        with self._lock:
            state = self._state.get(key)
        return None if state is None else state[0]

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the compiles in flight (benchmarks and tests; renders never wait)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _compile(self, key: Hashable, example: tuple[Any, ...]) -> None:
        try:
            if self.backend == "openvino":
                compiled = _openvino_forward(self.forward, example)
            else:
                compiled = torch.compile(self.forward, dynamic=False, options={"freezing": True})
            with self.context():
                compiled(*example)  # inductor compiles on the first call; OpenVINO warms up
            state: tuple[str, Any] = (READY, compiled)
            if self._choice(key, compiled, example) == "eager":
                state = (SLOWER, None)
                log.info("%s: compiled forward for %s measured slower than eager: renders stay eager", self.name, key)
            else:
                log.info("%s: compiled forward ready for %s", self.name, key)
        except Exception as exc:  # noqa: BLE001 - a failed compile leaves this shape eager, never breaks renders
            log.warning("%s: torch.compile failed for %s (renders stay eager): %s", self.name, key, exc)
            state = (FAILED, None)
        with self._lock:
            self._state[key] = state

    def tune_shape(self, key: Hashable) -> str:
        """The autotune key of ``key``: the network (its class and parameter count), backend and input shapes."""
        network = self.forward
        params = sum(p.numel() for p in network.parameters()) if isinstance(network, torch.nn.Module) else 0
        return f"{self.name} {type(network).__name__}/{params} {self.backend} {key}"

    def _eager_measured_faster(self, key: Hashable) -> bool:
        from regionpaint.engines.acceleration import autotune

        forced = autotune.parse_forced(os.environ.get(autotune.FORCE_ENV, "")).get("compile")
        return (forced or autotune.tuner().lookup("compile", self.tune_shape(key))) == "eager"

    def _choice(self, key: Hashable, compiled: Callable[..., Any], example: tuple[Any, ...]) -> str:
        """The backend's name or "eager", timed here on the compile thread (already off the render path)."""
        from regionpaint.engines.acceleration import autotune

        def under_context(fn: Callable[[], Any]) -> Callable[[], Any]:
            def run() -> Any:
                with self.context():
                    return fn()

            return run

        def candidates() -> dict[str, Callable[[], Any]]:
            return {
                self.backend: under_context(lambda: compiled(*example)),
                "eager": under_context(lambda: self.forward(*example)),
            }

        return autotune.choose("compile", self.tune_shape(key), candidates, self.backend, inline=True)


BACKENDS = ("inductor", "openvino")


def openvino_available() -> bool:
    """Whether the OpenVINO runtime is installed (``pip install openvino``; in the ``fast`` extra)."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


# Opt-in: OpenVINO's runtime (with its own thread pool) in the same process as torch and Qt's render threads
# is not proven safe here (a test run crashed after loading it), so it is used only when asked for.
BACKEND_ENV = "REGIONPAINT_COMPILE_BACKEND"  # "inductor" (default) or "openvino"


def preferred_backend(device: torch.device | str, measured_openvino: bool) -> str:
    """The compile backend for a network on ``device``: OpenVINO when ``REGIONPAINT_COMPILE_BACKEND=openvino``
    asks for it, on CPU, where it is installed and the engine measured it faster (``measured_openvino``);
    else inductor."""
    asked = os.environ.get(BACKEND_ENV, "inductor").strip().lower()
    if asked == "openvino" and measured_openvino and torch.device(device).type == "cpu" and openvino_available():
        return "openvino"
    return "inductor"


def _openvino_forward(module: Callable[..., Any], example: tuple[Any, ...]) -> Callable[..., Any]:
    """``module`` (one tensor in, one out) converted to OpenVINO and compiled for the CPU in bf16 (OpenVINO's
    own kernels for AVX-512-BF16/AMX; f32 elsewhere), as a callable taking and returning torch tensors.

    Measured on pix2pixHD global 512x256 (2 cores, AVX-512-BF16): 0.60 s against 0.73 s for inductor and
    0.82 s for eager bf16 (bench/engine_speed.py, ``fast+compile``).
    """
    import openvino as ov

    if len(example) != 1:
        raise ValueError("the OpenVINO backend takes networks with one input tensor")
    with torch.no_grad():
        converted = ov.convert_model(module, example_input=example[0].contiguous())
    core = ov.Core()
    precision = "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"
    compiled = core.compile_model(
        converted, "CPU", {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    )
    lock = threading.Lock()  # one infer request, used by one render at a time
    request = compiled.create_infer_request()

    def run(x: torch.Tensor) -> torch.Tensor:
        with lock:
            outputs = request.infer({0: x.detach().float().contiguous().cpu().numpy()})
            return torch.from_numpy(next(iter(outputs.values())).copy()).to(x.device)

    return run


def fast_compiler(
    module: Callable[..., Any], device: torch.device | str, allow_tf32: bool, name: str, backend: str = "inductor"
) -> BackgroundCompiler:
    """A :class:`BackgroundCompiler` of an engine's fast forward: traced and run under inference mode and the fast
    render math of ``device`` (:func:`regionpaint.engines.acceleration.fast.fast_inference`), as the eager path."""
    from regionpaint.engines.acceleration.fast import fast_inference

    return BackgroundCompiler(module, lambda: fast_inference(device, allow_tf32), name, backend)


def shape_key(*values: Any) -> tuple:
    """A hashable key of tensors' shapes, dtypes and strides (what a static compiled graph is specialised
    on), plus any plain values."""
    parts: list[Any] = []
    for value in values:
        if isinstance(value, torch.Tensor):
            parts.append((tuple(value.shape), value.dtype, value.stride(), value.device.type))
        elif isinstance(value, dict):
            parts.append(tuple((k, shape_key(v)) for k, v in sorted(value.items())))
        elif isinstance(value, (tuple, list)):
            parts.append(shape_key(*value))
        else:
            parts.append(value)
    return tuple(parts)
