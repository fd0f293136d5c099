"""pix2pixHD feature clusters: official sampling, seeded/overridable picks, safe .npy reader, k-means."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from regionpaint.engines.base import CheckpointError, InputError
from regionpaint.engines.pix2pixhd.clusters import cluster_features, kmeans, load_clusters, save_clusters
from regionpaint.engines.pix2pixhd.features import instance_feature_rows, sample_feature_map

FEAT_NUM = 3


def _ids() -> np.ndarray:
    """24 x 32 ids: stuff 7 and 11, cars 26001..26003 (26001 in two parts), class 4 (no clusters)."""
    ids = np.full((24, 32), 7, dtype=np.int32)
    ids[12:, :] = 11
    ids[2:6, 2:10] = 26001
    ids[14:20, 20:30] = 26001  # same instance, second part
    ids[8:12, 12:20] = 26002
    ids[16:22, 2:8] = 26003
    ids[0:2, 28:32] = 4
    return ids


def _clusters() -> dict[int, np.ndarray]:
    rng = np.random.RandomState(1)
    return {
        7: rng.uniform(-1, 1, (10, FEAT_NUM)),
        11: rng.uniform(-1, 1, (4, FEAT_NUM)),
        26: rng.uniform(-1, 1, (10, FEAT_NUM)),
        30: np.zeros((0, FEAT_NUM)),
    }


def _official_sample_features(inst: np.ndarray, clusters, feat_num, seed):
    """The official Pix2PixHDModel.sample_features loop (global np.random, torch index writes)."""
    np.random.seed(seed)
    inst_t = torch.from_numpy(inst)[None, None].float()
    feat_map = torch.full((1, feat_num, *inst.shape), float("nan"))  # official: uninitialised memory
    for i in np.unique(inst.astype(int)):
        label = i if i < 1000 else i // 1000
        if label in clusters:
            feat = clusters[label]
            cluster_idx = np.random.randint(0, feat.shape[0])
            idx = (inst_t == int(i)).nonzero()
            for k in range(feat_num):
                feat_map[idx[:, 0], idx[:, 1] + k, idx[:, 2], idx[:, 3]] = float(feat[cluster_idx, k])
    return feat_map[0].numpy()


def test_seeded_pick_equals_official_after_np_random_seed():
    ids, clusters = _ids(), {k: v for k, v in _clusters().items() if len(v)}
    ours, picks = sample_feature_map(ids, clusters, FEAT_NUM, seed=123)
    official = _official_sample_features(ids, clusters, FEAT_NUM, 123)
    defined = ~np.isnan(official)
    assert np.array_equal(ours[defined], official[defined])
    assert np.all(ours[~defined] == 0)  # class 4 has no clusters: zeros, not garbage
    assert set(picks.picks) == {7, 11, 26001, 26002, 26003}


def test_each_instance_gets_its_cluster_row():
    ids, clusters = _ids(), _clusters()
    feat, picks = sample_feature_map(ids, clusters, FEAT_NUM, seed=5)
    assert picks.missing_classes == [4]
    for inst, (label, index) in picks.picks.items():
        region = feat[:, ids == inst]
        expected = clusters[label][index].astype(np.float32)[:, None]
        assert np.array_equal(region, np.broadcast_to(expected, region.shape))
    assert np.all(feat[:, ids == 4] == 0)


def test_overrides_and_determinism():
    ids, clusters = _ids(), _clusters()
    base, base_picks = sample_feature_map(ids, clusters, FEAT_NUM, seed=5)
    again, _ = sample_feature_map(ids, clusters, FEAT_NUM, seed=5)
    assert np.array_equal(base, again)
    others = [sample_feature_map(ids, clusters, FEAT_NUM, seed=s)[1].picks for s in range(1, 6)]
    assert any(p != base_picks.picks for p in others)

    _, by_class = sample_feature_map(ids, clusters, FEAT_NUM, seed=5, class_clusters={26: 3})
    assert all(by_class.picks[i] == (26, 3) for i in (26001, 26002, 26003))
    assert by_class.picks[7] == base_picks.picks[7]

    feat, by_inst = sample_feature_map(
        ids, clusters, FEAT_NUM, seed=5, class_clusters={26: 3}, instance_clusters={26002: 9}
    )
    assert by_inst.picks[26002] == (26, 9) and by_inst.picks[26001] == (26, 3)
    assert np.allclose(feat[:, ids == 26002], clusters[26][9].astype(np.float32)[:, None])

    _, one = sample_feature_map(ids, clusters, FEAT_NUM, seed=5, instance_clusters={26001: 0})
    assert {k: v for k, v in one.picks.items() if k != 26001} == {
        k: v for k, v in base_picks.picks.items() if k != 26001
    }
    with pytest.raises(InputError, match="cluster 4 requested for class 11"):
        sample_feature_map(ids, clusters, FEAT_NUM, seed=5, class_clusters={11: 4})


def test_cluster_file_round_trip_in_official_format(tmp_path):
    clusters = _clusters()
    path = save_clusters(tmp_path / "features_clustered_010.npy", clusters)
    official = np.load(path, encoding="latin1", allow_pickle=True).item()  # how the official reads it
    assert set(official) == set(clusters)
    loaded = load_clusters(path)
    assert set(loaded) == set(clusters)
    for k in clusters:
        assert np.array_equal(loaded[k], clusters[k]) and np.array_equal(official[k], clusters[k])


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_cluster_file_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "features_clustered_010.npy"
    np.save(path, np.array({7: _Evil(str(marker))}, dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="features_clustered_010.npy") as err:
        load_clusters(path)
    assert "system" in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [np.arange(6.0).reshape(2, 3), np.array([1, 2, 3], dtype=object), np.array({"a": np.zeros((2, 3))})],
    ids=["numeric-array", "object-list", "string-key"],
)
def test_cluster_file_of_the_wrong_shape_is_refused(tmp_path, content):
    path = tmp_path / "features_clustered_010.npy"
    np.save(path, content, allow_pickle=True)
    with pytest.raises(CheckpointError, match="features_clustered_010.npy"):
        load_clusters(path)


def test_truncated_cluster_file_is_refused(tmp_path):
    path = save_clusters(tmp_path / "features_clustered_010.npy", _clusters())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="features_clustered_010.npy"):
        load_clusters(path)


def test_kmeans_finds_separated_blobs_deterministically():
    rng = np.random.RandomState(0)
    centres = np.array([[-0.8, 0.0, 0.5], [0.7, 0.7, -0.2], [0.0, -0.9, 0.9]])
    points = np.concatenate([c + 0.02 * rng.randn(30, 3) for c in centres])
    found = kmeans(points, 3, seed=0)
    assert np.array_equal(found, kmeans(points, 3, seed=0))
    order = np.argsort(found[:, 0])
    assert np.allclose(found[order], centres[np.argsort(centres[:, 0])], atol=0.02)
    assert kmeans(points[:2], 10).shape == (2, 3)  # min(rows, n_clusters), as the official


def test_instance_rows_and_clustering_follow_encode_features():
    ids = _ids()
    feat = np.stack([np.where(ids == i, v, 0) for i, v in [(7, 0.1), (11, 0.2), (26001, 0.3)]]).astype(np.float32)
    feat = feat.sum(0)[None].repeat(FEAT_NUM, 0)
    rows = instance_feature_rows(feat, ids, label_nc=35)
    assert set(rows) == set(range(35))  # every class present, empty ones as (0, feat_num + 1)
    assert rows[26].shape == (3, FEAT_NUM + 1) and rows[0].shape == (0, FEAT_NUM + 1)
    area_7 = (ids == 7).sum() / (ids.size // 32)
    assert np.allclose(rows[7], [[0.1, 0.1, 0.1, area_7]])
    centres = cluster_features(rows, n_clusters=10)
    # Rows with area <= 0.5 are dropped (class 4: 8 px of 768 // 32 = 24 -> 0.33).
    assert 4 not in centres and centres[7].shape == (1, FEAT_NUM)
    assert np.allclose(centres[7], 0.1)
