"""The render service: the one owner of "which engine, which checkpoint, which device" (Qt-free).

``regionpaint render``, ``render --project``, batch rendering and the editor's render thread all go
through :class:`RenderService`:

1. :meth:`RenderService.engine_class` resolves the engine: the id given, else the one that claims the
   checkpoint as its own layout (``Engine.locate``) or recognises it (inspected from file headers;
   remembered per file and modification time).
2. :meth:`RenderService.capabilities` says what *this checkpoint* offers (``Engine.capabilities_for``),
   before anything is loaded, so front ends can show the right controls first time.
3. :meth:`RenderService.fit` makes the request fit the engine: inputs of capabilities the checkpoint
   does not offer are dropped (no ``@mean`` reaches an engine without ``mean_style``), the engine's own
   options are checked against its schema and the engine's ``fit_request`` applies what they mean.
4. :meth:`RenderService.render` loads through the engine cache (one model per checkpoint and device;
   asking for another releases the previous one), runs the engine and checks that the network's output
   is finite (:func:`check_finite`: NaN would be a black image, silently).

Torch is imported only when an engine loads, never by importing this module.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from regionpaint.engines.base import MEAN_STYLE, Engine, EngineError, RenderRequest, RenderResult, StyleSource
from regionpaint.engines.schema import OptionError, option_map, parse_options

log = logging.getLogger(__name__)


class RenderSetupError(EngineError):
    """The render cannot start as asked (no checkpoint for an engine that needs one, bad options)."""


@dataclass
class RenderJob:
    """One render, as the CLI or the editor asked for it.

    ``engine_id`` empty: recognise the engine from ``checkpoint``. ``options`` are engine options by
    name (a document keeps options of every engine it was rendered with; only this engine's are used,
    and with ``strict_options`` an unknown name is an error, as on the command line).
    """

    request: RenderRequest
    engine_id: str = ""
    checkpoint: str = ""
    device: str = "auto"
    options: Mapping[str, Any] = field(default_factory=dict)
    strict_options: bool = False
    # Style sources for engine-provided styles (@mean / @random): None = the request's own gallery.
    mean_style_sources: Sequence[StyleSource] | None = None


@dataclass
class RenderOutcome:
    """What a finished render returns to its front end."""

    job: RenderJob
    result: RenderResult
    engine_id: str
    device: str
    loaded: bool  # this render loaded the checkpoint (first render, or after a switch)
    request: RenderRequest  # the request as fitted to the engine
    capabilities: frozenset[str] = frozenset()


class RenderService:
    """Resolves, fits, loads and renders; one instance per process is shared by every front end."""

    def __init__(self, manager: Any = None) -> None:
        from regionpaint.engines.caching.engine_cache import EngineCache

        self._manager = manager
        self._cache = EngineCache()
        self._lock = threading.Lock()
        self._recognised: dict[tuple[str, int], str] = {}
        self._capabilities: dict[tuple[str, str, int], frozenset[str]] = {}
        # (engine class, CheckpointInfo) by (engine id asked for, resolved path, mtime)
        self._infos: dict[tuple[str, str, int], tuple[type[Engine], Any]] = {}
        self._last_engine: Engine | None = None

    @property
    def manager(self) -> Any:
        if self._manager is not None:
            return self._manager
        from regionpaint.plugins.manager import get_plugin_manager

        # Not kept: after `plugins install` (or the Plugins dialog) reloads the registry, renders see it.
        return get_plugin_manager()

    # -- resolving ---------------------------------------------------------------------------------
    def engine_class(self, engine_id: str = "", checkpoint: str | Path = "") -> type[Engine]:
        """The engine class for an id, or the one that claims or recognises ``checkpoint``."""
        if engine_id:
            return self.manager.engine_class(engine_id)
        if not checkpoint:
            raise RenderSetupError("no engine and no checkpoint chosen; pick a checkpoint (or an engine)")
        key = _file_key(checkpoint)
        with self._lock:
            known = self._recognised.get(key)
        if known is None:
            known = self._resolve(checkpoint, "")[0].id
            with self._lock:
                self._recognised[key] = known
        return self.manager.engine_class(known)

    def inspect(self, checkpoint: str | Path, engine_id: str = ""):
        """The checkpoint's files, options and key shapes as ``engine_id`` reads them (its own layout first:
        ``Engine.locate``), or as the engine that claims or recognises it does; read once per file version:
        recognising the engine and deciding its capabilities ask for the same facts."""
        return self._resolve(checkpoint, engine_id)[1]

    def _resolve(self, checkpoint: str | Path, engine_id: str) -> tuple[type[Engine], Any]:
        key = (engine_id, *_file_key(checkpoint))
        with self._lock:
            resolved = self._infos.get(key)
        if resolved is None:
            resolved = self.manager.resolve_checkpoint(checkpoint, engine_id)
            with self._lock:
                self._infos[key] = resolved
        return resolved

    def capabilities(self, engine_id: str = "", checkpoint: str | Path = "") -> frozenset[str]:
        """What the checkpoint offers with this engine, decided from its files before any load."""
        engine_class = self.engine_class(engine_id, checkpoint)
        if not checkpoint:
            return frozenset(engine_class.capabilities)
        key = (engine_class.id, *_file_key(checkpoint))
        with self._lock:
            cached = self._capabilities.get(key)
        if cached is None:
            cached = frozenset(engine_class.capabilities_for(self.inspect(checkpoint, engine_class.id))) & frozenset(
                engine_class.capabilities
            )
            with self._lock:
                self._capabilities[key] = cached
        return cached

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, job: RenderJob, engine_class: type[Engine], capabilities: frozenset[str]) -> RenderRequest:
        return fit_job(job, engine_class, capabilities)

    # -- rendering ---------------------------------------------------------------------------------
    def load(
        self, engine_class: type[Engine], checkpoint: str | Path | None, device: str = "auto"
    ) -> tuple[Engine, bool]:
        """The loaded engine (from the cache when it holds this checkpoint) and whether it was loaded now."""
        if engine_class.needs_checkpoint and not checkpoint:
            raise RenderSetupError(f"{engine_class.display_name} needs a checkpoint; choose one")
        engine = self._cache.get(engine_class, checkpoint or None, device or "auto")
        loaded, self._last_engine = engine is not self._last_engine, engine
        return engine, loaded

    def holds(self, engine_id: str, checkpoint: str | Path | None, device: str = "auto") -> bool:
        """Whether the engine cache holds this checkpoint loaded for this device (loaded ahead of a render)."""
        key = (engine_id, str(Path(checkpoint).resolve()) if checkpoint else "", device or "auto")
        return self._cache._key == key and self._cache._engine is not None

    def render(self, job: RenderJob) -> RenderOutcome:
        """Resolve, fit, load and render one job; errors are EngineErrors (or what the engine raised)."""
        engine_class = self.engine_class(job.engine_id, job.checkpoint)
        capabilities = self.capabilities(engine_class.id, job.checkpoint)
        request = self.fit(job, engine_class, capabilities)
        engine, loaded = self.load(engine_class, job.checkpoint, job.device)
        if MEAN_STYLE in capabilities:
            engine.set_mean_styles(mean_style_sources(job, request))
        from regionpaint.app.render.guard import guarded_generate  # every failure named with the engine and its plugin

        start = time.perf_counter()
        result = guarded_generate(engine, request)
        check_finite(result, engine_class.id, job.checkpoint, fast=bool(request.fast))
        if not result.seconds:
            result.seconds = time.perf_counter() - start
        return RenderOutcome(
            job=job,
            result=result,
            engine_id=engine_class.id,
            device=str(engine.device),
            loaded=loaded,
            request=request,
            capabilities=capabilities,
        )

    def release(self) -> None:
        """Free the loaded model (at exit, or to give device memory back)."""
        self._cache.release()
        self._last_engine = None


class NonFiniteOutput(EngineError):
    """The network's output holds NaN or infinite values (damaged weights, or fast mode overflowing)."""


def check_finite(result: RenderResult, engine_id: str, checkpoint: str | Path = "", fast: bool = False) -> None:
    """Raise :class:`NonFiniteOutput` when ``result.tensor`` (the raw network output) is not all finite.

    Every engine's output passes here (CLI, editor, and batch through its own call), plugins' included:
    the uint8 image cannot tell, since NaN converts to 0 (black) without a word. The message names the
    checkpoint and the engine and says how much of the image is lost. Engines that return no tensor are
    not checked. The check reads the output once: ~12 ms at 2048x1024 on the shared 2-core CPU
    (``np.isfinite``; a float32 or float64 sum measured no faster), against seconds for the render.
    """
    tensor = result.tensor
    if tensor is None:
        return
    if hasattr(tensor, "detach"):  # torch: float() is free for the float32 outputs engines return
        tensor = tensor.detach().float().cpu().numpy()
    values = np.asarray(tensor)
    if not np.issubdtype(values.dtype, np.floating) or np.isfinite(values).all():
        return
    raise NonFiniteOutput(non_finite_message(values, engine_id, checkpoint, fast))


def non_finite_message(values: np.ndarray, engine_id: str, checkpoint: str | Path = "", fast: bool = False) -> str:
    """``CKPT: engine 'x' produced NaN in 37 % of pixels; <what to try>`` for an (N, 3, H, W) output."""
    from regionpaint.app.render.guard import engine_label

    channel_axis = -3 if values.ndim >= 3 else 0  # NCHW / CHW: a pixel is lost when any channel is
    found = []
    for what, test in (("NaN", np.isnan), ("infinite values", np.isinf)):
        share = float(test(values).any(axis=channel_axis).mean()) if values.ndim >= 3 else float(test(values).mean())
        if share > 0:
            found.append(f"{what} in {_percent(share)} of pixels")
    if fast:
        advice = (
            "fast mode's reduced precision can overflow where float32 does not: render without --fast "
            "(in the editor: untick Fast preview)"
        )
    else:
        advice = "its weights may hold NaN or huge values (a damaged file, or a training run that diverged)"
    where = f"{checkpoint}: " if checkpoint else ""
    return f"{where}{engine_label(engine_id)} produced {' and '.join(found)}; {advice}"


def _percent(share: float) -> str:
    """37 %, 0.4 %, 100 % (never "0 %" or "100 %" for a share that is neither)."""
    percent = share * 100
    if percent >= 100:
        return "100 %"
    if percent > 99:
        return "over 99 %"
    if percent >= 1:
        return f"{percent:.0f} %"
    return f"{percent:.1g} %"


def fit_job(job: RenderJob, engine_class: type[Engine], capabilities: frozenset[str]) -> RenderRequest:
    """The job's request as this engine and checkpoint can take it (a new request; the job's is kept).

    Inputs of capabilities the checkpoint does not offer are dropped; the job's options for this engine
    are checked against its schema (only those whose ``requires`` the checkpoint meets are kept) and the
    engine's ``fit_request`` applies what they mean.
    """
    request = fit_to_capabilities(job.request, capabilities)
    schema = option_map(engine_class.options)
    given = {k: v for k, v in job.options.items() if k in schema or job.strict_options}
    try:
        options = parse_options(engine_class.options, given)
    except OptionError as exc:
        raise RenderSetupError(f"{engine_class.display_name}: {exc}") from exc
    options = {
        name: value
        for name, value in options.items()
        if schema[name].requires is None or schema[name].requires in capabilities
    }
    request = dataclasses.replace(request, options={**request.options, **options})
    return engine_class.fit_request(request, frozenset(capabilities))


def fit_to_capabilities(request: RenderRequest, capabilities: frozenset[str] | set[str]) -> RenderRequest:
    """Drop what the engine does not declare: engine-provided styles without MEAN_STYLE (mixes are
    renormalised over what is left), crossover without CROSSOVER, clusters without INSTANCE_FEATURES."""
    from regionpaint.engines.base import CROSSOVER, ENGINE_STYLE_PREFIX, INSTANCE_FEATURES, LATENT_Z

    keep_engine_styles = MEAN_STYLE in capabilities

    def usable(mix) -> tuple:
        if keep_engine_styles:
            return tuple(mix)
        kept = [(name, weight) for name, weight in mix if not name.startswith(ENGINE_STYLE_PREFIX)]
        if len(kept) == len(mix):
            return tuple(mix)
        total = sum(weight for _, weight in kept)
        return () if not kept or total <= 0 else tuple((name, weight / total) for name, weight in kept)

    region_styles = {c: m for c, m in ((c, usable(m)) for c, m in request.region_styles.items()) if m}
    changes: dict[str, Any] = {
        "region_styles": region_styles,
        "default_style": usable(request.default_style or ()) or None,
    }
    if CROSSOVER not in capabilities:
        changes["crossover"] = {}
    if INSTANCE_FEATURES not in capabilities:
        changes.update(instance_clusters={}, class_clusters={}, feature_source=None)
    if LATENT_Z not in capabilities:
        changes.update(z=None)
    return dataclasses.replace(request, **changes)


def uses_engine_styles(request: RenderRequest) -> bool:
    """True when a mix of the request names ``@mean`` or ``@random``."""
    from regionpaint.engines.base import ENGINE_STYLE_PREFIX

    mixes = [*request.region_styles.values(), request.default_style or ()]
    return any(name.startswith(ENGINE_STYLE_PREFIX) for mix in mixes for name, _ in mix)


def mean_style_sources(job: RenderJob, request: RenderRequest) -> Sequence[StyleSource] | None:
    """The sources mean codes come from: the job's, else the request's gallery when a mix needs them.

    The official ``calculate_mean_style_code.py`` averages each class's code over a folder of styles;
    in the editor that folder is the document's style gallery (sources with a segmentation). None
    leaves the engine with whatever mean codes it has (its checkpoint's own, or none).
    """
    if job.mean_style_sources is not None:
        return job.mean_style_sources
    if not uses_engine_styles(request):
        return None
    sources = [s for s in request.styles.values() if s.label is not None]
    return sources or None


def _file_key(path: str | Path) -> tuple[str, int]:
    p = Path(path)
    try:
        return str(p.resolve()), p.stat().st_mtime_ns
    except OSError:
        return str(p), 0


_default_service: RenderService | None = None
_default_lock = threading.Lock()


def default_service() -> RenderService:
    """The process's render service: one loaded model shared by every window and command."""
    global _default_service
    with _default_lock:
        if _default_service is None:
            _default_service = RenderService()
        return _default_service


def release_default_service() -> None:
    with _default_lock:
        if _default_service is not None:
            _default_service.release()
