"""The ``features_clustered_*.npy`` file: safe reading, writing, and a numpy k-means to make one.

The official ``encode_features.py`` writes ``np.save(path, {class: KMeans(...).cluster_centers_})``:
a 0-d object array holding a dict, i.e. a pickle. Unpickling can run code, so the file is read with a
restricted unpickler that can only rebuild numpy arrays, dtypes and scalars (plus ``_codecs.encode``,
which Python-2-era pickles use for byte strings); anything else is a :class:`CheckpointError`.
Torch-free.
"""

from __future__ import annotations

import codecs
import io
import logging
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from regionpaint.engines.base import CheckpointError

log = logging.getLogger(__name__)

_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's ndarray _reconstruct, whatever module it lives in
_SCALAR = np.float64(0).__reduce__()[0]  # numpy's scalar reconstructor
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
    ("builtins", "dict"): dict,
    ("builtins", "int"): int,
    ("__builtin__", "dict"): dict,
    ("__builtin__", "int"): int,
    ("__builtin__", "long"): int,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)") from None


def _read_npy_object(path: Path) -> object:
    with path.open("rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                _, _, dtype = np.lib.format.read_array_header_2_0(f)
        except Exception as exc:  # numpy parses the header with ast/tokenize: ValueError, SyntaxError, TokenError
            raise CheckpointError(f"{path}: not a .npy file (its header is damaged)") from exc
        if not dtype.hasobject:
            raise CheckpointError(f"{path}: expected a pickled dict of cluster centres, found a {dtype} array")
        payload = f.read()
    try:
        # encoding latin1: the official 2017 files come from Python 2 (np.load(..., encoding='latin1')).
        return _NumpyOnlyUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except Exception as exc:  # UnpicklingError, EOFError, TypeError from a crafted reduce, ...
        raise CheckpointError(f"{path}: cannot read the cluster file safely ({exc})") from exc


def load_clusters(path: str | Path) -> dict[int, np.ndarray]:
    """Read ``features_clustered_*.npy`` into {class id: (n_clusters, >= feat_num) float64}."""
    path = Path(path)
    obj = _read_npy_object(path)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict of cluster centres, found {type(obj).__name__}")
    clusters: dict[int, np.ndarray] = {}
    for key, value in obj.items():
        if not isinstance(key, (int, np.integer)) or isinstance(key, bool):
            raise CheckpointError(f"{path}: cluster key {key!r} is not a class id")
        if not isinstance(value, np.ndarray) or value.ndim != 2 or value.dtype.kind not in "fiu":
            raise CheckpointError(f"{path}: clusters of class {key} are not a 2-D numeric array")
        clusters[int(key)] = value.astype(np.float64, copy=False)
    return clusters


def clusters_feat_width(clusters: Mapping[int, np.ndarray]) -> int | None:
    """Columns of the cluster rows (feat_num for official files), None when there are no rows."""
    widths = {v.shape[1] for v in clusters.values() if len(v)}
    return min(widths) if widths else None


def save_clusters(path: str | Path, clusters: Mapping[int, np.ndarray]) -> Path:
    """Write the official format (``np.save`` of a dict), readable by the official ``test.py``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, {int(k): np.asarray(v, dtype=np.float64) for k, v in clusters.items()}, allow_pickle=True)
    return path


def kmeans(points: np.ndarray, k: int, seed: int = 0, n_init: int = 10, max_iter: int = 300) -> np.ndarray:
    """Seeded k-means (k-means++ start, Lloyd iterations, best of ``n_init`` by inertia) -> (k, D) centres.

    Same algorithm family as the official ``sklearn.cluster.KMeans(random_state=0)``, not the same
    random stream, so centres can differ from sklearn's where the clustering is ambiguous.
    """
    points = np.asarray(points, dtype=np.float64)
    k = min(k, len(points))
    rng = np.random.RandomState(seed)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = _kmeans_pp(points, k, rng)
        for _ in range(max_iter):
            assign = _nearest(points, centres)
            moved = centres.copy()
            for c in range(k):
                members = points[assign == c]
                if len(members):
                    moved[c] = members.mean(axis=0)
            if np.allclose(moved, centres, rtol=0, atol=1e-10):
                centres = moved
                break
            centres = moved
        inertia = float(((points - centres[_nearest(points, centres)]) ** 2).sum())
        if inertia < best_inertia:
            best, best_inertia = centres, inertia
    return best


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1).argmin(1)


def _kmeans_pp(points: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    centres = [points[rng.randint(len(points))]]
    for _ in range(1, k):
        dist = ((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1).min(1)
        total = dist.sum()
        pick = rng.choice(len(points), p=dist / total) if total > 0 else rng.randint(len(points))
        centres.append(points[pick])
    return np.array(centres)


def cluster_features(
    rows: Mapping[int, np.ndarray], n_clusters: int = 10, seed: int = 0, min_area: float = 0.5
) -> dict[int, np.ndarray]:
    """The official clustering step: per class, keep rows whose area column > ``min_area``, drop that
    column, k-means into ``min(rows, n_clusters)`` centres. Classes without rows are left out.

    rows: {class: (n, feat_num + 1)} as made by :func:`regionpaint.engines.pix2pixhd.features.instance_feature_rows`.
    """
    centres: dict[int, np.ndarray] = {}
    for label in sorted(rows):
        feat = np.asarray(rows[label])
        if feat.size == 0:
            continue
        feat = feat[feat[:, -1] > min_area, :-1]
        if feat.shape[0]:
            centres[int(label)] = kmeans(feat, n_clusters, seed=seed)
    return centres


def merge_rows(parts: Iterable[Mapping[int, np.ndarray]]) -> dict[int, np.ndarray]:
    """Concatenate per-image rows {class: (n, D)} as the official loop over the dataset does."""
    merged: dict[int, list[np.ndarray]] = {}
    for part in parts:
        for label, value in part.items():
            merged.setdefault(int(label), []).append(np.asarray(value))
    return {label: np.concatenate(values, axis=0) for label, values in merged.items()}
