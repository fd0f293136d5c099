"""After a pix2pixHD run with ``--instance_feat``/``--label_feat``: the official ``encode_features.py``.

Every training image (no flip, batch 1) goes through the trained encoder; each instance contributes one row
(its feature at the middle pixel + its relative area); per class the rows with area > 0.5 are clustered into
``n_clusters`` centres, saved as ``features_clustered_<n_clusters:03d>.npy`` next to the checkpoints: the
file the editor's cluster picker and ``regionpaint render`` read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from regionpaint.engines.pix2pixhd.clusters import cluster_features, merge_rows, save_clusters
from regionpaint.engines.pix2pixhd.features import instance_feature_rows
from regionpaint.engines.training.datasets import PairedDataset
from regionpaint.engines.training.layouts import Sample
from regionpaint.engines.training.options import TrainOptions

log = logging.getLogger(__name__)


def cluster_file_name(n_clusters: int) -> str:
    return f"features_clustered_{n_clusters:03d}.npy"


@torch.no_grad()
def encode_and_cluster(
    encoder: nn.Module,
    samples: Sequence[Sample],
    opt: TrainOptions,
    device: torch.device,
    run_dir: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, dict[int, np.ndarray]]:
    """Encode every sample, cluster per class and write the cluster file; returns (path, centres)."""
    unflipped = opt.copy()
    unflipped.no_flip = True
    dataset = PairedDataset(samples, unflipped, seed=opt.seed, train=False)
    was_training = encoder.training
    parts = []
    for index in range(len(dataset)):
        item = dataset[index]
        image = item["image"][None].to(device)
        ids = (item["label"] if opt.label_feat else item["instance"])[None].to(device)
        feat_map = encoder(image, ids)[0].float().cpu().numpy()
        parts.append(instance_feature_rows(feat_map, ids[0, 0].cpu().numpy(), opt.label_channels))
        if progress is not None:
            progress(index + 1, len(dataset))
    encoder.train(was_training)
    centres = cluster_features(merge_rows(parts), n_clusters=opt.n_clusters, seed=0)
    path = Path(run_dir) / cluster_file_name(opt.n_clusters)
    temporary = save_clusters(path.with_name(f".{path.stem}.partial.npy"), centres)
    os.replace(temporary, path)  # np.save is not atomic; a reader sees the old file or the new one
    log.info("wrote %s (%d classes)", path, len(centres))
    return path, centres
