"""From a document to a render request: the one translation the editor and ``render --project`` share.

Qt-free and torch-free: it copies what the document says (label and instance maps, style sources,
per-region mixes, crossover, seed, noise, size) into an :class:`engines.base.RenderRequest`, and
reads the few engine-specific choices the editor keeps in ``EngineSettings.options``:

* ``"spade_z"``: ``"style"`` (default; SPADE-VAE encodes the default mix's first source) or
  ``"random"`` (z drawn from the seed: the request carries no style sources);
* ``"instance_clusters"`` / ``"class_clusters"``: ``{"id": cluster}`` (JSON keys are strings),
  pix2pixHD feature clusters per instance id or per class id;
* ``"feature_source"``: the style source whose photo pix2pixHD encodes into instance features
  (absent: the checkpoint's feature clusters, which the per-instance picks choose from).

Engine-provided style names (``@mean``, ``@random``) are dropped from mixes for engines that do not
declare :data:`engines.base.MEAN_STYLE`, so a document styled with SEAN still renders after a switch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from app.model.document import ENGINE_STYLE_SOURCES, Document, StyleMix
from engines.base import INSTANCE_FEATURES, LATENT_Z, MEAN_STYLE, RenderRequest, StyleSource

log = logging.getLogger(__name__)

SPADE_Z_OPTION = "spade_z"
INSTANCE_CLUSTERS_OPTION = "instance_clusters"
CLASS_CLUSTERS_OPTION = "class_clusters"
FEATURE_SOURCE_OPTION = "feature_source"


class RenderRequestError(ValueError):
    """The document cannot be rendered as it is (no checkpoint chosen, bad engine options)."""


def engine_capabilities(engine_id: str) -> frozenset[str]:
    """Capabilities of a registered engine, or none for an empty or unknown id (read from the class only)."""
    if not engine_id:
        return frozenset()
    from plugins.manager import get_plugin_manager

    entry = get_plugin_manager().engines().get(engine_id)
    return frozenset(entry.engine_class.capabilities) if entry is not None else frozenset()


def needs_checkpoint(engine_id: str) -> bool:
    """False only for a registered engine that renders without weights (``needs_checkpoint = False``)."""
    if not engine_id:
        return True
    from plugins.manager import get_plugin_manager

    entry = get_plugin_manager().engines().get(engine_id)
    return entry is None or bool(entry.engine_class.needs_checkpoint)


def request_from_document(
    doc: Document, capabilities: Collection[str] | None = None
) -> tuple[str, str, str, RenderRequest]:
    """What to render and with what: ``(engine_id, checkpoint, device, request)``.

    ``capabilities`` are those of the engine that will render; by default they are looked up in the
    plugin registry from ``doc.engine.engine_id``. When that id is empty (the engine is recognised from
    the checkpoint later) and none are given, the request is left as the document says and the caller
    applies :func:`fit_request_to_engine` once the engine is known.
    The label and instance maps are copied, so the request stays valid while the document is edited.
    Raises :class:`RenderRequestError` when no checkpoint is set or an option is malformed.
    """
    settings = doc.engine
    if not settings.checkpoint and needs_checkpoint(settings.engine_id):
        raise RenderRequestError("no checkpoint chosen; pick one in the Engine panel")
    request = document_request(doc)
    options = dict(settings.options)
    if capabilities is None and settings.engine_id:
        capabilities = engine_capabilities(settings.engine_id)
    if capabilities is not None:
        request = fit_request_to_engine(request, options, capabilities)
    return settings.engine_id, settings.checkpoint, settings.device, request


def document_request(doc: Document) -> RenderRequest:
    """The request exactly as the document says, before any engine-specific fitting (copies the maps)."""
    options = dict(doc.engine.options)
    settings = doc.engine
    return RenderRequest(
        label=np.array(doc.label, copy=True),
        instance=None if doc.instance is None else np.array(doc.instance, copy=True),
        styles={name: _style_source(name, source) for name, source in doc.style_sources.items()},
        region_styles={int(class_id): tuple(mix) for class_id, mix in doc.region_styles.items()},
        default_style=tuple(doc.default_style) or None,
        crossover=dict(doc.crossover),
        seed=int(settings.seed),
        noise=bool(settings.noise),
        size=None if settings.output_size is None else tuple(settings.output_size),
        instance_clusters=_id_map(options.get(INSTANCE_CLUSTERS_OPTION), INSTANCE_CLUSTERS_OPTION),
        class_clusters=_id_map(options.get(CLASS_CLUSTERS_OPTION), CLASS_CLUSTERS_OPTION),
        label_set=doc.label_set_id or None,
    )


def fit_request_to_engine(
    request: RenderRequest, options: Mapping[str, Any], capabilities: Collection[str]
) -> RenderRequest:
    """The engine-specific part of a request, from the document's engine ``options``; returns a new request.

    Without :data:`MEAN_STYLE`, ``@mean``/``@random`` leave the mixes (the rest is renormalised);
    SPADE-VAE's random z sends no style photo; pix2pixHD gets its feature source.
    """
    caps = frozenset(capabilities)
    keep_engine_styles = MEAN_STYLE in caps
    region_styles = {
        class_id: mix
        for class_id, mix in ((c, _usable_mix(m, keep_engine_styles)) for c, m in request.region_styles.items())
        if mix
    }
    default_style = _usable_mix(request.default_style or (), keep_engine_styles) or None
    request = dataclasses.replace(request, region_styles=region_styles, default_style=default_style)
    if LATENT_Z in caps and options.get(SPADE_Z_OPTION) == "random":
        # SPADE-VAE takes z from a style photo when it has one; without sources it draws z from the seed.
        request = dataclasses.replace(request, styles={}, region_styles={}, default_style=None, sample=True)
    if INSTANCE_FEATURES in caps and options.get(FEATURE_SOURCE_OPTION) in request.styles:
        request = dataclasses.replace(request, feature_source=str(options[FEATURE_SOURCE_OPTION]))
    return request


def uses_engine_styles(request: RenderRequest) -> bool:
    """True when a mix of the request names ``@mean`` or ``@random`` (the engine needs mean codes)."""
    mixes = [*request.region_styles.values(), request.default_style or ()]
    return any(name in ENGINE_STYLE_SOURCES for mix in mixes for name, _ in mix)


def prepare_engine_styles(engine: Any, request: RenderRequest) -> None:
    """Give an engine with mean codes (SEAN) the statistics of the request's sources, when a mix needs them.

    The official ``calculate_mean_style_code.py`` averages each class's code over a folder of styles;
    here that folder is the document's style gallery (sources with a label map). Engines without
    ``set_mean_codes`` are left alone.
    """
    if not hasattr(engine, "set_mean_codes"):
        return
    if not uses_engine_styles(request):
        engine.set_mean_codes(None)
        return
    sources = [source for source in request.styles.values() if source.label is not None]
    if not sources:
        from engines.base import InputError

        raise InputError("mean and random styles need at least one style source with its segmentation")
    engine.set_mean_codes(engine.compute_style_statistics(sources))


def _style_source(name: str, source: Any) -> StyleSource:
    return StyleSource(name=name, image=source.image, label=source.label, instance=source.instance)


def _usable_mix(mix: StyleMix, keep_engine_styles: bool) -> StyleMix:
    """The mix without engine-provided names when the engine has none, weights renormalised."""
    if keep_engine_styles:
        return tuple(mix)
    kept = [(name, weight) for name, weight in mix if name not in ENGINE_STYLE_SOURCES]
    if len(kept) == len(mix):
        return tuple(mix)
    total = sum(weight for _, weight in kept)
    if not kept or total <= 0:
        return ()
    return tuple((name, weight / total) for name, weight in kept)


def _id_map(value: Any, option: str) -> dict[int, int]:
    """``{"26001": 3}`` (JSON keys are strings) -> ``{26001: 3}``."""
    if value in (None, {}):
        return {}
    if not isinstance(value, Mapping):
        raise RenderRequestError(f"engine option {option!r} must map ids to cluster indices, got {value!r}")
    try:
        return {int(key): int(cluster) for key, cluster in value.items()}
    except (TypeError, ValueError) as exc:
        raise RenderRequestError(f"engine option {option!r}: {exc}") from exc
