"""From a document to a render job: the one translation the editor and ``render --project`` share.

Qt-free and torch-free: it copies what the document says (label and instance maps, style sources,
per-region mixes, crossover, seed, noise, size, label set) into a :class:`regionpaint.app.render.service.RenderJob`.
The document's engine options travel as they are; the render service checks them against the engine's
option schema and the engine applies them (SPADE-VAE's ``spade_z``, pix2pixHD's cluster picks and
feature source live in those engines' slices, not here).
"""

from __future__ import annotations

import numpy as np

from regionpaint.app.model.document import Document
from regionpaint.app.render.service import RenderJob
from regionpaint.engines.base import RenderRequest, StyleSource


class RenderRequestError(ValueError):
    """The document cannot be rendered as it is (no checkpoint chosen)."""


def job_from_document(doc: Document, needs_checkpoint: bool = True) -> RenderJob:
    """What to render and with what. The label and instance maps are copied, so the job stays valid while
    the document is edited. Raises :class:`RenderRequestError` when no checkpoint is set and the engine
    needs one."""
    settings = doc.engine
    if needs_checkpoint and not settings.checkpoint:
        raise RenderRequestError("no checkpoint chosen; pick one in the Engine panel")
    return RenderJob(
        request=document_request(doc),
        engine_id=settings.engine_id or "",
        checkpoint=settings.checkpoint or "",
        device=settings.device or "auto",
        options=dict(settings.options),
    )


def document_request(doc: Document) -> RenderRequest:
    """The request exactly as the document says, before the render service fits it to an engine."""
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
        label_set=doc.label_set_id or None,
    )


def _style_source(name: str, source) -> StyleSource:
    return StyleSource(name=name, image=source.image, label=source.label, instance=source.instance)
