"""The engine a batch renders with: resolved exactly as ``regionpaint render`` resolves it.

One function on purpose: the shared render service (app/render) will replace its body.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class LoadedEngine:
    engine: Any  # regionpaint.engines.base.Engine, loaded
    engine_class: type
    label_set: Any  # regionpaint.app.model.labelsets.LabelSet or None
    checkpoint: Path | None  # None: an engine without weights (``needs_checkpoint = False``)
    capabilities: frozenset[str]  # what this checkpoint offers (style modes are chosen from it)


def load_engine(args: argparse.Namespace, device: str) -> LoadedEngine:
    """The engine of ``args.checkpoint`` (``args.engine`` overrides; without a checkpoint, the engine it names,
    which needs no weights) through the shared render service:
    resolved, inspected for what this checkpoint offers, loaded (cached) on ``device``; the label set is
    ``args.label_set``, else the one with the checkpoint's ``label_nc``."""
    from regionpaint.app.render.service import default_service
    from regionpaint.app.render_spec import label_set_for_classes
    from regionpaint.engines.loading.options import opt_int

    service = default_service()
    manager = service.manager
    checkpoint = args.checkpoint or ""  # empty: an engine that needs no weights, named by --engine
    engine_cls = service.engine_class(args.engine or "", checkpoint)
    if args.label_set:
        label_set = manager.label_set(args.label_set)
    elif checkpoint:
        info = service.inspect(checkpoint, engine_cls.id)
        label_set = label_set_for_classes(opt_int(info.opt, "label_nc", 0), manager.label_sets().values())
    else:  # nothing to read label_nc from: the engine's one label set, as render does
        only = engine_cls.label_sets[0] if len(engine_cls.label_sets) == 1 else None
        label_set = manager.label_sets().get(only) if only else None
    capabilities = service.capabilities(engine_cls.id, checkpoint)
    engine, _loaded = service.load(engine_cls, checkpoint or None, device)
    return LoadedEngine(
        engine, engine_cls, label_set, Path(checkpoint) if checkpoint else None, frozenset(capabilities)
    )
