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
    engine: Any  # engines.base.Engine, loaded
    engine_class: type
    label_set: Any  # app.model.labelsets.LabelSet or None
    checkpoint: Path
    capabilities: frozenset[str]  # what this checkpoint offers (style modes are chosen from it)


def load_engine(args: argparse.Namespace, device: str) -> LoadedEngine:
    """Recognise the engine from ``args.checkpoint`` (``args.engine`` overrides), pick the label set
    (``args.label_set``, else the one with the checkpoint's ``label_nc``) and load it on ``device``."""
    from app.render_spec import label_set_for_classes
    from engines.common.checkpoint import inspect_checkpoint
    from engines.common.options import opt_int
    from plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    info = inspect_checkpoint(args.checkpoint)
    engine_cls = manager.engine_class(args.engine) if args.engine else manager.engine_for_checkpoint(info)
    if args.label_set:
        label_set = manager.label_set(args.label_set)
    else:
        label_set = label_set_for_classes(opt_int(info.opt, "label_nc", 0), manager.label_sets().values())
    engine = engine_cls()
    engine.load(args.checkpoint, device)
    capabilities = engine_cls.capabilities_for(info) & engine.checkpoint_capabilities
    if getattr(engine, "uses_vae", True) is False:
        # SPADE without a VAE takes no z, whatever its class declares (until it narrows capabilities_for).
        from engines.base import LATENT_Z

        capabilities -= {LATENT_Z}
    return LoadedEngine(engine, engine_cls, label_set, Path(args.checkpoint), frozenset(capabilities))
