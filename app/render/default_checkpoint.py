"""The model a new document starts with, so nobody has to pick one every time.

For the document's label set, in this order: a model the model manager installed (official weights), then
the bundled demo model, then the checkpoint last rendered with that label set. Only manifests and sidecars
are read (small JSON, through regionpaint.untrusted); no weights, no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from regionpaint.app.render.checkpoint_finder import CheckpointChoice, demo_checkpoints, scan_folder

log = logging.getLogger(__name__)


def label_set_of(path: Path) -> str | None:
    """The label set a checkpoint was trained for: an installed model's manifest, or a ``.safetensors``
    file's sidecar; None when neither says (an official folder without a manifest)."""
    from regionpaint.untrusted import read_json

    if path.is_dir():
        from regionpaint.app.model_manager.store import MANIFEST, read_manifest

        if not (path / MANIFEST).is_file():
            return None
        try:
            manifest = read_manifest(path)
        except ValueError as exc:
            log.info("%s", exc)
            return None
        return manifest.label_set if manifest is not None else None
    sidecar = path.with_suffix(".json")
    if path.suffix != ".safetensors" or not sidecar.is_file():
        return None
    try:
        data = read_json(sidecar)
    except (OSError, ValueError) as exc:  # UntrustedFileError is a ValueError
        log.info("%s: %s", sidecar, exc)
        return None
    label_set = data.get("label_set") if isinstance(data, dict) else None
    return label_set if isinstance(label_set, str) else None


def best_checkpoint(
    label_set_id: str,
    models_folder: Path,
    last_used: str = "",
    demo_choices: Iterable[CheckpointChoice] | None = None,
) -> Path | None:
    """The checkpoint a new ``label_set_id`` document renders with; None when nothing fits."""
    installed = [c for c in scan_folder(models_folder) if c.catalog and label_set_of(c.path) == label_set_id]
    if installed:
        return installed[0].path
    from regionpaint.app.bundled_demo import DEMO_MODEL_ORDER

    demos = list(demo_checkpoints() if demo_choices is None else demo_choices)
    demos.sort(key=lambda c: DEMO_MODEL_ORDER.index(c.path.name) if c.path.name in DEMO_MODEL_ORDER else 99)
    for choice in demos:
        if label_set_of(choice.path) == label_set_id:
            return choice.path
    if last_used and Path(last_used).exists():
        return Path(last_used)
    return None
