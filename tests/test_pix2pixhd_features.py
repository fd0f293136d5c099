"""pix2pixHD per-instance features end to end: encoder averaging, cluster sampling, feature photos.

Tiny random checkpoints (global G with label_nc 5 + edge + 3 feature channels, an encoder, a cluster
file) in the official folder layout; the generator input is captured with a forward pre-hook.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regionpaint.engines.base import InputError, RenderRequest, StyleSource
from regionpaint.engines.layers.tensors import image_to_tensor
from regionpaint.engines.pix2pixhd.architecture import EncoderArch, GeneratorArch, InputLayout
from regionpaint.engines.pix2pixhd.clusters import load_clusters
from regionpaint.engines.pix2pixhd.engine import Pix2PixHDEngine
from regionpaint.engines.pix2pixhd.networks import Encoder
from tests.factories import random_clusters, randomize, write_checkpoint

LABEL_NC, FEAT_NUM = 5, 3
G_ARCH = GeneratorArch("global", LABEL_NC + 1 + FEAT_NUM, 4, 2, 1, 0, 0, "instance")
E_ARCH = EncoderArch(3, FEAT_NUM, 4, 2, "instance")


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """label (32, 48) uint8, instance ids int32 (class*1000+k for class 3), photo (32, 48, 3) uint8."""
    label = np.zeros((32, 48), dtype=np.uint8)
    label[:16] = 1
    label[16:, :24] = 2
    label[16:, 24:] = 4
    label[4:12, 4:20] = 3
    label[20:28, 30:44] = 3
    label[4:12, 28:40] = 3
    instance = label.astype(np.int32)
    instance[4:12, 4:20] = 3001
    instance[20:28, 30:44] = 3001  # one instance in two parts
    instance[4:12, 28:40] = 3002
    photo = np.random.RandomState(0).randint(0, 256, (32, 48, 3)).astype(np.uint8)
    return label, instance, photo


def _official_encoder_mean(outputs: torch.Tensor, inst: torch.Tensor, feat_num: int) -> torch.Tensor:
    """The official Encoder.forward averaging loop (nonzero indices, torch.mean, expand)."""
    outputs_mean = outputs.clone()
    for i in np.unique(inst.cpu().numpy().astype(int)):
        indices = (inst[0:1] == int(i)).nonzero()
        for j in range(feat_num):
            output_ins = outputs[indices[:, 0], indices[:, 1] + j, indices[:, 2], indices[:, 3]]
            mean_feat = torch.mean(output_ins).expand_as(output_ins)
            outputs_mean[indices[:, 0], indices[:, 1] + j, indices[:, 2], indices[:, 3]] = mean_feat
    return outputs_mean


def test_encoder_output_is_constant_per_instance_and_equals_the_mean():
    encoder = randomize(Encoder(3, FEAT_NUM, 4, 2), seed=2).eval()
    _, instance, photo = _scene()
    image = image_to_tensor(photo)
    ids = torch.from_numpy(instance)[None, None].long()
    with torch.inference_mode():
        raw = encoder.raw(image)
        averaged = encoder(image, ids)
    assert raw.std().item() > 0.05
    for inst in np.unique(instance):
        mask = torch.from_numpy(instance == inst)
        region = averaged[0][:, mask]
        expected = raw[0][:, mask].double().mean(1).float()
        assert torch.allclose(region, expected[:, None].expand_as(region), atol=1e-6)
    assert torch.allclose(averaged, _official_encoder_mean(raw, ids.float(), FEAT_NUM), atol=1e-6)


@pytest.fixture()
def folder(tmp_path):
    layout = InputLayout(LABEL_NC, True, FEAT_NUM)
    clusters = random_clusters([1, 2, 3], FEAT_NUM, n_clusters=6, seed=4)  # class 4 has no clusters
    write_checkpoint(tmp_path / "tiny_feat", G_ARCH, layout, encoder=E_ARCH, clusters=clusters, seed=7)
    return tmp_path / "tiny_feat"


def _engine(path) -> tuple[Pix2PixHDEngine, dict]:
    engine = Pix2PixHDEngine()
    engine.load(path, "cpu")
    captured: dict = {}
    engine._loaded.generator.register_forward_pre_hook(lambda mod, args: captured.__setitem__("x", args[0].clone()))
    return engine, captured


def test_checkpoint_folder_with_encoder_and_clusters(folder):
    engine, _ = _engine(folder)
    assert engine.feat_num == FEAT_NUM and engine.has_encoder and engine.has_clusters
    assert engine.cluster_labels() == [1, 2, 3]
    assert engine.cluster_count(3) == 6 and engine.cluster_count(4) == 0


def test_cluster_features_fill_each_instance_with_its_pick(folder):
    engine, captured = _engine(folder)
    label, instance, _ = _scene()
    clusters = load_clusters(folder / "features_clustered_010.npy")
    result = engine.generate(RenderRequest(label=label, instance=instance, seed=11))
    x = captured["x"][0]
    assert x.shape == (LABEL_NC + 1 + FEAT_NUM, 32, 48)
    assert torch.equal(x[:LABEL_NC].argmax(0), torch.from_numpy(label).long())
    picks = result.info["feature_picks"]
    assert set(picks) == {1, 2, 3001, 3002} and result.info["classes_without_clusters"] == [4]
    for inst, (cls, index) in picks.items():
        region = x[LABEL_NC + 1 :, torch.from_numpy(instance == inst)]
        row = torch.from_numpy(clusters[cls][index]).float()
        assert torch.equal(region, row[:, None].expand_as(region))
    assert torch.all(x[LABEL_NC + 1 :, torch.from_numpy(label == 4)] == 0)

    same = engine.generate(RenderRequest(label=label, instance=instance, seed=11))
    assert torch.equal(result.tensor, same.tensor)
    forced = engine.generate(
        RenderRequest(label=label, instance=instance, seed=11, class_clusters={3: 5}, instance_clusters={3002: 0})
    )
    assert forced.info["feature_picks"][3001] == (3, 5) and forced.info["feature_picks"][3002] == (3, 0)
    changed = [engine.generate(RenderRequest(label=label, instance=instance, seed=s)).tensor for s in (1, 2, 3)]
    assert any((t - result.tensor).abs().max().item() > 1e-3 for t in changed)


def test_feature_photo_is_encoded_and_averaged_per_document_instance(folder):
    engine, captured = _engine(folder)
    label, instance, photo = _scene()
    request = RenderRequest(
        label=label, instance=instance, styles={"scene": StyleSource("scene", photo)}, feature_source="scene"
    )
    result = engine.generate(request)
    assert result.info["feature_source"] == "scene"
    encoder = engine._loaded.encoder
    with torch.inference_mode():
        raw = encoder.raw(image_to_tensor(photo))
    expected = _official_encoder_mean(raw, torch.from_numpy(instance)[None, None].float(), FEAT_NUM)
    assert torch.allclose(captured["x"][:, LABEL_NC + 1 :], expected, atol=1e-6)

    per_instance = engine.encode_style(StyleSource("scene", photo, label=label, instance=instance))
    assert set(per_instance) == set(np.unique(instance).tolist())
    ys, xs = np.nonzero(instance == 3001)
    assert np.allclose(per_instance[3001], expected[0, :, ys[0], xs[0]].numpy(), atol=1e-6)

    # A photo of another size is resized (bicubic) to the network size.
    big = np.repeat(np.repeat(photo, 2, 0), 2, 1)
    request.styles = {"scene": StyleSource("scene", big)}
    assert engine.generate(request).tensor.shape == (1, 3, 32, 48)
    with pytest.raises(InputError, match="feature source 'other'"):
        engine.generate(RenderRequest(label=label, instance=instance, feature_source="other"))


def test_label_feat_averages_per_class(tmp_path):
    layout = InputLayout(LABEL_NC, True, FEAT_NUM, feature_ids="label")
    write_checkpoint(tmp_path / "label_feat", G_ARCH, layout, encoder=E_ARCH, seed=7)
    engine, captured = _engine(tmp_path / "label_feat")
    assert engine._loaded.layout.feature_ids == "label"
    label, instance, photo = _scene()
    engine.generate(
        RenderRequest(label=label, instance=instance, styles={"p": StyleSource("p", photo)}, feature_source="p")
    )
    feat = captured["x"][0, LABEL_NC + 1 :]
    region = feat[:, torch.from_numpy(label == 3)]  # instances 3001 and 3002 share one class mean
    assert torch.allclose(region, region[:, :1].expand_as(region))


def test_compute_clusters_from_photos(folder, tmp_path):
    engine, _ = _engine(folder)
    label, instance, photo = _scene()
    sources = [StyleSource(f"s{i}", np.roll(photo, 7 * i, axis=1), label=label, instance=instance) for i in range(3)]
    path = tmp_path / "features_clustered_004.npy"
    centres = engine.compute_clusters(sources, n_clusters=4, seed=0, path=path)
    # Every instance here covers more than 0.5 * (H*W // 32) = 24 pixels, so no row is filtered out.
    assert set(centres) == {1, 2, 3, 4}
    assert centres[3].shape == (min(4, 2 * 3), FEAT_NUM)
    reread = load_clusters(path)
    assert all(np.array_equal(reread[k], centres[k]) for k in centres)
    assert engine.cluster_count(4) == centres[4].shape[0]
    result = engine.generate(RenderRequest(label=label, instance=instance))
    assert result.info["feature_picks"][4][0] == 4


def test_missing_feature_sources_are_input_errors(tmp_path):
    write_checkpoint(tmp_path / "bare", G_ARCH, InputLayout(LABEL_NC, True, FEAT_NUM), seed=7)
    engine, _ = _engine(tmp_path / "bare")
    label, instance, photo = _scene()
    with pytest.raises(InputError, match="per-instance features"):
        engine.generate(RenderRequest(label=label, instance=instance))
    with pytest.raises(InputError, match="no feature encoder"):
        engine.generate(
            RenderRequest(label=label, instance=instance, styles={"p": StyleSource("p", photo)}, feature_source="p")
        )


def test_safetensors_keeps_encoder_and_clusters(folder, tmp_path):
    engine, _ = _engine(folder)
    label, instance, photo = _scene()
    styles = {"p": StyleSource("p", photo)}
    by_cluster = engine.generate(RenderRequest(label=label, instance=instance, seed=3)).tensor
    by_photo = engine.generate(RenderRequest(label=label, instance=instance, styles=styles, feature_source="p")).tensor
    path = engine.save(tmp_path / "feat.safetensors")
    again, _ = _engine(path)
    assert again._loaded.layout == engine._loaded.layout and again.cluster_count(3) == 6
    assert torch.equal(again.generate(RenderRequest(label=label, instance=instance, seed=3)).tensor, by_cluster)
    assert torch.equal(
        again.generate(RenderRequest(label=label, instance=instance, styles=styles, feature_source="p")).tensor,
        by_photo,
    )
