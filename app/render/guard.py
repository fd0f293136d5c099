"""Fault containment around an engine's ``generate``: checked results, named culprits, out-of-memory advice.

Engines come from plugins, so a render can fail in ways regionpaint did not write: an exception from
deep inside a third-party network, an image of the wrong shape or type, running out of memory. Each
becomes an :class:`EngineFault` whose one-line message names the engine and the plugin that registered
it, and for out-of-memory says what to try. Qt-free and torch-free (torch's error types are recognised
by name), so the CLI, the batch runner and the editor share it.

    result = guarded_generate(engine, request)   # raises EngineFault, never anything else

A render that never returns cannot be interrupted (a Python thread cannot be killed);
:func:`call_with_timeout` runs it on a daemon thread and stops waiting for it, so the caller can report and exit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from regionpaint.engines.base import EngineError, RenderRequest
from regionpaint.limits import PixelLimitError, check_render_size

log = logging.getLogger(__name__)

#: How long the editor waits for one render before offering to stop waiting (seconds; a setting).
DEFAULT_RENDER_TIMEOUT_S = 120


class EngineFault(EngineError):
    """A render failed inside an engine, or the engine returned something unusable."""


class EngineCrash(EngineFault):
    """``generate`` raised something that is not an ``EngineError``: a bug in the engine. The message is one
    line; the traceback is logged at DEBUG level (``regionpaint --debug`` prints it)."""


class RenderTimeout(EngineFault):
    """A render (load and generate) did not finish within the time it was given."""


T = TypeVar("T")


def call_with_timeout(work: Callable[[], T], timeout_s: float | None, message: Callable[[], str]) -> T:
    """``work()``, waited for at most ``timeout_s`` seconds (None: as long as it takes, on this thread).

    With a limit, ``work`` runs on a daemon thread; past the limit :class:`RenderTimeout` is raised with
    ``message()``, and the thread is left to finish (or hang) on its own: a daemon thread does not keep the
    process from exiting. Whatever ``work`` raises is raised here; Ctrl+C still interrupts the wait."""
    if timeout_s is None:
        return work()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which raises it
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="regionpaint-render", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise RenderTimeout(message())
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def plugin_of(engine_id: str) -> str:
    """The name of the plugin that registered ``engine_id`` ("" when unknown)."""
    try:
        from regionpaint.plugins.manager import get_plugin_manager

        entry = get_plugin_manager().engines().get(engine_id)
    except Exception:  # the registry itself failing must not hide the engine's own error
        return ""
    return entry.plugin if entry is not None else ""


def engine_label(engine_id: str) -> str:
    """``engine 'x' (plugin 'y', package z 1.0)`` for messages; built-ins are named as such."""
    try:
        from regionpaint.plugins.manager import get_plugin_manager

        return get_plugin_manager().engine_origin(engine_id)
    except Exception:  # the registry itself failing must not hide the engine's own error
        return f"engine {engine_id!r}"


def is_out_of_memory(exc: BaseException) -> bool:
    """MemoryError, torch.cuda.OutOfMemoryError, or a RuntimeError saying the allocator ran dry."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    # torch's CPU allocator says "can't allocate memory" when the system refuses (an address-space limit, or
    # overcommit off), and "not enough memory" when it checked first.
    words = ("out of memory", "not enough memory", "failed to allocate", "can't allocate memory")
    return isinstance(exc, RuntimeError) and any(word in text for word in words)


def out_of_memory_message(engine_id: str, device: str, request: RenderRequest | None = None, engine: Any = None) -> str:
    """What happened and what to try: a smaller output size this network renders, or the CPU when the GPU
    ran out. The size is the network's (``request.size``, else the engine's ``network_size``), not the
    label map's: a 128-pixel network fed a 2000-pixel label ran out at its own size."""
    where = f" on {device}" if device else ""
    size = render_size(request, engine) if request is not None else None
    if size is None and request is not None and getattr(request, "label", None) is not None:
        height, width = request.label.shape[:2]
        size = (width, height)
    smaller = f"a smaller output size than {size[0]}x{size[1]}" if size else "a smaller output size"
    example = smaller_size(engine, request, size) if size else None
    if example is not None:
        smaller += f", such as {example[0]}x{example[1]}"
    suggestions = [smaller]
    if device and not device.startswith("cpu"):
        suggestions.append("the CPU device (slower, but it has the machine's whole memory)")
    return f"{engine_label(engine_id)} ran out of memory{where}; try {' or '.join(suggestions)}"


def smaller_size(engine: Any, request: Any, size: tuple[int, int]) -> tuple[int, int] | None:
    """A (W, H) under ``size`` that ``engine`` renders: half of it in multiples of the engine's
    ``size_multiple()``, else the checkpoint's own size when that is smaller; None when neither is known."""
    try:
        step = engine.size_multiple() if engine is not None else None
    except Exception:  # a plugin's engine may lack it or fail: the advice does without an example
        step = None
    if step:
        width, height = size[0] // 2 // step * step, size[1] // 2 // step * step
        if width > 0 and height > 0:
            return width, height
    own = _own_size(request, engine)
    if own is not None and own[0] * own[1] < size[0] * size[1]:
        return own
    return None


def describe_fault(
    exc: BaseException, engine_id: str, device: str = "", request: RenderRequest | None = None, engine: Any = None
) -> str:
    """One line for a person about an exception raised by an engine."""
    if is_out_of_memory(exc):
        return out_of_memory_message(engine_id, device, request, engine)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, EngineError):
        return text or f"{engine_label(engine_id)} failed ({type(exc).__name__})"
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{engine_label(engine_id)} failed while rendering ({detail})"


def check_result(result: Any, request: RenderRequest, engine: Any) -> None:
    """Raise EngineFault unless ``result.image`` is an (H, W, 3) uint8 array of the size asked for.

    The size is ``request.size`` when given, else the engine's ``network_size`` for the label map
    (when the engine says); a float image must at least lie in [0, 255] to be called the wrong type.
    """
    engine_id = getattr(engine, "id", type(engine).__name__)
    image = getattr(result, "image", None)
    if not isinstance(image, np.ndarray):
        raise EngineFault(f"{engine_label(engine_id)} returned no image (got {type(image).__name__})")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise EngineFault(f"{engine_label(engine_id)} returned an image of shape {image.shape}, expected (H, W, 3)")
    if image.dtype != np.uint8:
        raise EngineFault(f"{engine_label(engine_id)} returned {image.dtype} pixels, expected uint8 RGB")
    expected = _expected_size(request, engine)
    if expected is not None and (image.shape[1], image.shape[0]) != expected:
        raise EngineFault(
            f"{engine_label(engine_id)} returned a {image.shape[1]}x{image.shape[0]} image for a "
            f"{expected[0]}x{expected[1]} render"
        )


def _expected_size(request: RenderRequest, engine: Any) -> tuple[int, int] | None:
    return render_size(request, engine)


def render_size(request: Any, engine: Any) -> tuple[int, int] | None:
    """(W, H) the network renders for ``request``: ``request.size``, else the engine's ``network_size`` for
    the label map; None when the engine does not say."""
    if request.size is not None:
        return tuple(request.size)
    return _own_size(request, engine)


def _own_size(request: Any, engine: Any) -> tuple[int, int] | None:
    label = getattr(request, "label", None)
    if label is None or engine is None:
        return None
    try:
        return tuple(int(v) for v in engine.network_size(tuple(label.shape[:2])))
    except Exception:  # NotImplementedError, or an engine whose size depends on more than the label
        return None


def check_render_pixels(engine: Any, request: RenderRequest) -> None:
    """Raise :class:`EngineFault` when the render would pass the pixel cap (:mod:`regionpaint.limits`), before
    the engine allocates anything: a requested size, or the network's own size from a checkpoint's options."""
    size = render_size(request, engine)
    if size is None:
        return
    try:
        check_render_size(size, "output size" if request.size is not None else "the network's output size")
    except PixelLimitError as exc:
        raise EngineFault(str(exc)) from None


def guarded_generate(engine: Any, request: RenderRequest) -> Any:
    """``engine.generate(request)`` whose every failure (and every unusable result) is an EngineFault."""
    engine_id = getattr(engine, "id", type(engine).__name__)
    check_render_pixels(engine, request)
    try:
        result = engine.generate(request)
    except EngineError:
        raise
    except KeyboardInterrupt:  # the person pressed Ctrl+C: stop, as everywhere else
        raise
    except BaseException as exc:  # SystemExit/GeneratorExit from a plugin's engine is its fault, not a quit
        device = str(getattr(engine, "device", ""))
        message = describe_fault(exc, engine_id, device, request, engine)
        if is_out_of_memory(exc):
            raise EngineFault(message) from exc
        # The traceback is for the engine's author, not the person: logged where --debug shows it.
        log.debug("%s failed", engine_label(engine_id), exc_info=True)
        raise EngineCrash(message) from exc
    check_result(result, request, engine)
    return result
