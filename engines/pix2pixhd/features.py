"""Per-instance feature maps: averaging encoder outputs per instance, and sampling cluster centres.

The feature channels of a pix2pixHD generator input hold, for every object instance, one constant
``feat_num``-vector. They come either from the encoder run on a photo (``Encoder.forward``: each
channel replaced by its mean over each instance) or from the k-means centres of
``features_clustered_*.npy`` (``Pix2PixHDModel.sample_features``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from regionpaint.engines.base import InputError


def class_of_instance(instance_id: int) -> int:
    """The official ``label = i if i < 1000 else i // 1000`` (Cityscapes instance ids are class*1000+k)."""
    return instance_id if instance_id < 1000 else instance_id // 1000


def instance_mean(features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Replace every channel by its mean over each id region.

    features: (B, C, H, W) float; ids: (B, 1, H, W) integer -> (B, C, H, W), constant inside each id.
    Sums are accumulated in float64 (float32 on MPS), so results match the official per-instance
    ``torch.mean`` to float32 rounding.
    """
    if ids.shape[0] != features.shape[0] or ids.shape[-2:] != features.shape[-2:]:
        raise InputError(f"instance map {tuple(ids.shape[-2:])} does not match features {tuple(features.shape[-2:])}")
    acc = torch.float32 if features.device.type == "mps" else torch.float64
    out = torch.empty_like(features)
    channels = features.shape[1]
    for b in range(features.shape[0]):
        unique, inverse = torch.unique(ids[b, 0].reshape(-1), return_inverse=True)
        flat = features[b].reshape(channels, -1).to(acc)
        sums = torch.zeros(channels, unique.numel(), dtype=acc, device=features.device).index_add_(1, inverse, flat)
        counts = torch.bincount(inverse, minlength=unique.numel()).to(acc)
        means = (sums / counts).to(features.dtype)
        out[b] = means[:, inverse].reshape(features.shape[1:])
    return out


@dataclass
class FeaturePicks:
    """Which cluster each instance got: ``{instance id: (class id, cluster index)}``."""

    picks: dict[int, tuple[int, int]] = field(default_factory=dict)
    missing_classes: list[int] = field(default_factory=list)  # classes present but without clusters


def sample_feature_map(
    ids: np.ndarray,
    clusters: Mapping[int, np.ndarray],
    feat_num: int,
    seed: int | None = None,
    instance_clusters: Mapping[int, int] | None = None,
    class_clusters: Mapping[int, int] | None = None,
) -> tuple[np.ndarray, FeaturePicks]:
    """The official ``sample_features`` with a seeded, overridable pick.

    ids: (H, W) integer instance ids (or class ids with ``--label_feat``) at network size.
    Returns ((feat_num, H, W) float32, picks). For every id in ascending order (``np.unique``) whose
    class has clusters, one ``randint(0, n_clusters)`` is drawn from ``np.random.RandomState(seed)``
    (seed None -> 0): the same sequence as the official after ``np.random.seed(seed)``. The draw is
    always made, so overriding one instance leaves the others' picks unchanged; then
    ``instance_clusters[id]`` wins over ``class_clusters[class]`` over the draw. Each instance's pixels get
    the first ``feat_num`` columns of its cluster row. Pixels of classes without clusters stay 0 (the
    official leaves them as uninitialised memory).
    """
    instance_clusters = instance_clusters or {}
    class_clusters = class_clusters or {}
    rng = np.random.RandomState(0 if seed is None else seed)
    result = FeaturePicks()
    unique, inverse = np.unique(ids, return_inverse=True)
    table = np.zeros((unique.size, feat_num), dtype=np.float32)  # one feature row per id
    for n, inst in enumerate(unique.tolist()):
        label = class_of_instance(int(inst))
        centres = clusters.get(label)
        if centres is None or len(centres) == 0:
            if label not in result.missing_classes:
                result.missing_classes.append(label)
            continue
        count = centres.shape[0]
        index = int(rng.randint(0, count))
        if inst in instance_clusters:
            index = _checked_index(instance_clusters[inst], count, f"instance {inst}")
        elif label in class_clusters:
            index = _checked_index(class_clusters[label], count, f"class {label}")
        table[n] = np.asarray(centres[index, :feat_num], dtype=np.float32)
        result.picks[int(inst)] = (label, index)
    feat_map = np.ascontiguousarray(table[inverse.reshape(ids.shape)].transpose(2, 0, 1))
    return feat_map, result


def _checked_index(index: int, count: int, what: str) -> int:
    index = int(index)
    if not 0 <= index < count:
        raise InputError(f"cluster {index} requested for {what}, which has {count} clusters (0..{count - 1})")
    return index


def instance_feature_rows(
    feat_map: np.ndarray, ids: np.ndarray, label_nc: int, block_num: int = 32
) -> dict[int, np.ndarray]:
    """The official ``encode_features``: one row per instance, for clustering.

    feat_map: (feat_num, H, W) per-instance-averaged encoder output; ids: (H, W) instance ids.
    Returns {class: (n, feat_num + 1)}: the feature at the instance's middle pixel (row-major
    ``nonzero()[num // 2]``) and the instance's area as ``num / (H * W // block_num)``.
    """
    feat_num, h, w = feat_map.shape
    rows: dict[int, list[np.ndarray]] = {label: [] for label in range(label_nc)}
    for inst in np.unique(ids).tolist():
        ys, xs = np.nonzero(ids == inst)
        num = ys.size
        middle = num // 2
        row = np.zeros(feat_num + 1)
        row[:feat_num] = feat_map[:, ys[middle], xs[middle]]
        row[feat_num] = float(num) / (h * w // block_num)
        rows.setdefault(class_of_instance(int(inst)), []).append(row)
    return {label: np.array(r).reshape(-1, feat_num + 1) for label, r in rows.items()}
