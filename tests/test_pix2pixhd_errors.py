"""pix2pixHD bad inputs: other engines' checkpoints, damaged files, out-of-range ids, mismatched sizes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from regionpaint.engines.base import CheckpointError, InputError, RenderRequest
from regionpaint.engines.pix2pixhd.architecture import GeneratorArch, InputLayout
from regionpaint.engines.pix2pixhd.engine import Pix2PixHDEngine
from tests.factories import write_checkpoint

REFS = Path(__file__).resolve().parents[2] / "shared" / "refs"
SPADE = REFS / "spade_cityscapes" / "checkpoints" / "spade_cityscapes"
TINY = GeneratorArch("global", 6, 4, 2, 1, 0, 0, "instance")


@pytest.fixture()
def tiny(tmp_path) -> Path:
    write_checkpoint(tmp_path / "tiny", TINY, InputLayout(5, True, 0), seed=1)
    return tmp_path / "tiny"


@pytest.fixture()
def engine(tiny) -> Pix2PixHDEngine:
    eng = Pix2PixHDEngine()
    eng.load(tiny, "cpu")
    return eng


def test_spade_checkpoint_is_refused_naming_the_file():
    if not (SPADE / "latest_net_G.pth").is_file():
        pytest.skip(f"{SPADE} is not present")
    with pytest.raises(CheckpointError) as err:
        Pix2PixHDEngine().load(SPADE, "cpu")
    assert str(SPADE / "latest_net_G.pth") in str(err.value)
    assert "not a pix2pixHD generator" in str(err.value)


def test_truncated_pth_is_refused_naming_the_file(tiny, tmp_path):
    broken = tmp_path / "broken" / "latest_net_G.pth"
    broken.parent.mkdir()
    data = (tiny / "latest_net_G.pth").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=str(broken)):
        Pix2PixHDEngine().load(broken, "cpu")


def test_missing_and_unexpected_keys_are_named(tiny, tmp_path):
    state = torch.load(tiny / "latest_net_G.pth", weights_only=True)
    del state["model.10.conv_block.5.bias"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match=r"missing\.pth.*'model\.10\.conv_block\.5\.bias'"):
        Pix2PixHDEngine().load(tmp_path / "missing.pth", "cpu")
    state = torch.load(tiny / "latest_net_G.pth", weights_only=True)
    state["model.10.conv_block.9.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match=r"extra\.pth.*unexpected key 'model\.10\.conv_block\.9\.weight'"):
        Pix2PixHDEngine().load(tmp_path / "extra.pth", "cpu")


def test_encoder_of_wrong_width_is_refused(tmp_path):
    from regionpaint.engines.pix2pixhd.architecture import EncoderArch

    folder = tmp_path / "feat"
    write_checkpoint(
        folder,
        GeneratorArch("global", 9, 4, 2, 1, 0, 0, "instance"),
        InputLayout(5, True, 3),
        encoder=EncoderArch(3, 3, 4, 2, "instance"),
    )
    other = tmp_path / "other"
    write_checkpoint(other, TINY, InputLayout(5, True, 0), encoder=EncoderArch(3, 2, 4, 2, "instance"))
    shutil.copy(other / "latest_net_E.pth", folder / "latest_net_E.pth")
    with pytest.raises(CheckpointError, match="latest_net_E.pth"):
        Pix2PixHDEngine().load(folder, "cpu")


def _label_instance() -> tuple[np.ndarray, np.ndarray]:
    label = np.zeros((16, 24), dtype=np.uint8)
    label[8:, :] = 3
    return label, label.astype(np.int32)


def test_label_ids_out_of_range(engine):
    label, instance = _label_instance()
    label[0, 0] = 5
    label[1, 1] = 255
    with pytest.raises(InputError, match=r"label ids 5, 255 .*label_nc 5"):
        engine.generate(RenderRequest(label=label, instance=instance))


def test_instance_map_size_mismatch(engine):
    label, instance = _label_instance()
    with pytest.raises(InputError, match="instance map is 24x15"):
        engine.generate(RenderRequest(label=label, instance=instance[:15]))


def test_bad_maps_and_sizes(engine):
    label, instance = _label_instance()
    with pytest.raises(InputError, match="integer id map"):
        engine.generate(RenderRequest(label=label.astype(np.float32), instance=instance))
    with pytest.raises(InputError, match="multiples of 4"):
        engine.generate(RenderRequest(label=label, instance=instance, size=(30, 16)))
    assert engine.cluster_count(0) == 0 and engine.feat_num == 0
    assert engine.generate(RenderRequest(label=label, instance=instance, size=(32, 16))).tensor.shape == (
        1,
        3,
        16,
        32,
    )


def test_missing_instance_map_falls_back_to_the_label(engine):
    label, instance = _label_instance()
    result = engine.generate(RenderRequest(label=label))
    assert result.info["instance_from_label"] is True
    assert torch.equal(result.tensor, engine.generate(RenderRequest(label=label, instance=instance)).tensor)


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_malicious_cluster_file_in_a_checkpoint_folder(tiny, tmp_path):
    marker = tmp_path / "pwned"
    bad = tiny / "features_clustered_010.npy"
    np.save(bad, np.array({26: _Evil(str(marker))}, dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="features_clustered_010.npy"):
        Pix2PixHDEngine().load(tiny, "cpu")
    assert not marker.exists()


def test_safetensors_of_another_engine_is_refused(engine, tmp_path):
    import json

    path = engine.save(tmp_path / "model.safetensors")
    sidecar = path.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    assert data["engine"] == "pix2pixhd" and data["options"]["label_nc"] == "5"
    data["engine"] = "spade"
    sidecar.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"model\.json.*'spade'"):
        Pix2PixHDEngine().load(path, "cpu")
