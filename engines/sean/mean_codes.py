"""Per-class mean style codes saved beside a trained SEAN checkpoint, and read back when it loads.

The official ``calculate_mean_style_code.py`` encodes every training photo with the trained generator's
style encoder and averages each class's code over the photos where the class is present; its UI renders
such mean codes when no style photo is given. ``regionpaint train --engine sean`` does the same after the
last checkpoint (:func:`write_mean_codes`), and :meth:`SeanEngine.load` reads the file
(:func:`read_mean_codes`), so ``render --checkpoint RUN --label L`` works with no style source (``@mean``)
and ``@random`` has its per-class spread.

File: ``mean_style_codes.npz`` with ``mean`` and ``std`` (C, style_length) float32 and ``count`` (C,) int64.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from regionpaint import untrusted
from regionpaint.engines.sean.styles import StyleStatistics

log = logging.getLogger(__name__)

MEAN_CODES_FILE = "mean_style_codes.npz"


def mean_codes_path(checkpoint: str | Path) -> Path:
    """Where the mean codes of ``checkpoint`` (a run folder or a file in one) live."""
    checkpoint = Path(checkpoint)
    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    return folder / MEAN_CODES_FILE


def write_mean_codes(run_dir: str | Path, samples: Sequence, device: str = "cpu") -> tuple[Path, list[int]]:
    """Encode every sample's photo (with its label) through the SEAN engine loaded from ``run_dir``, save
    the per-class statistics and return (path, classes with a mean code). ``samples``: objects with
    ``key``, ``image`` and ``label`` paths (:class:`regionpaint.engines.training.layouts.Sample`)."""
    from regionpaint.engines.base import StyleSource
    from regionpaint.engines.sean.engine import SeanEngine

    engine = SeanEngine()
    engine.load(run_dir, device)
    sources = []
    for sample in samples:
        with untrusted.open_image(sample.image) as photo, untrusted.open_image(sample.label) as label:
            sources.append(StyleSource(sample.key, np.asarray(photo.convert("RGB")), np.asarray(label)))
    stats = engine.compute_style_statistics(sources)
    engine.release()
    path = mean_codes_path(run_dir)
    partial = path.with_name(f".{path.stem}.partial.npz")
    np.savez(partial, mean=stats.mean, std=stats.std, count=stats.count)
    os.replace(partial, path)  # a reader sees the old file or the new one
    classes = sorted(stats.present)
    log.info("wrote %s (%d classes)", path, len(classes))
    return path, classes


def read_mean_codes(checkpoint: str | Path, shape: tuple[int, int]) -> StyleStatistics | None:
    """The statistics saved beside ``checkpoint``, or None when there are none or they do not fit ``shape``
    (C, style_length) of the loaded generator (a file left from another run is ignored, with a log line)."""
    path = mean_codes_path(checkpoint)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            mean, std, count = data["mean"], data["std"], data["count"]
    except (OSError, KeyError, ValueError) as exc:
        log.warning("%s: unreadable mean style codes (%s); ignored", path, exc)
        return None
    if mean.shape != tuple(shape) or std.shape != mean.shape or count.shape != (shape[0],):
        log.warning("%s: mean codes of shape %s do not fit this generator %s; ignored", path, mean.shape, shape)
        return None
    return StyleStatistics(mean.astype(np.float32), std.astype(np.float32), count.astype(np.int64))
