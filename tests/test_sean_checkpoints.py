"""SEAN checkpoints: full-size key/shape layout, option inference, recognition and bad inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from regionpaint.engines.base import CheckpointError, InputError, RenderRequest, StyleSource
from regionpaint.engines.loading.checkpoint import inspect_checkpoint
from regionpaint.engines.sean.config import SeanConfig, infer_config
from regionpaint.engines.sean.engine import SeanEngine
from regionpaint.engines.sean.loading import build_generator
from tests.conftest import REPO

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


def sean_folder() -> Path:
    return shared("refs", "sean_celebahq", "checkpoints", "sean_celebahq")


@pytest.fixture(scope="module")
def engine() -> SeanEngine:
    eng = SeanEngine()
    eng.load(sean_folder(), device="cpu")
    return eng


@pytest.fixture(scope="module")
def label() -> np.ndarray:
    from PIL import Image

    return np.array(Image.open(shared("refs", "sean_celebahq", "inputs", "label_preprocessed.png")))


def test_full_size_layout_matches_official_spec():
    spec = json.loads(shared("specs", "sean_celebahq_default.json").read_text())
    expected = [(k, tuple(shape)) for k, shape, _ in spec["nets"]["G"]["keys"]]
    config = SeanConfig(ngf=spec["ngf"], label_nc=19, style_length=spec["style_length"])
    net = build_generator(config, "meta")
    built = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    assert set(built) == set(expected)
    assert built == expected  # same order too
    assert sum(v.numel() for v in net.state_dict().values()) == spec["nets"]["G"]["num_elements"]
    # The shapes alone give back the architecture (style length 512, ngf 64, 19 classes).
    assert infer_config(dict(expected), {}, "spec") == config


def test_options_come_from_shapes_and_opt_txt(engine):
    config = engine.config
    assert (config.ngf, config.label_nc, config.style_length, config.style_classes) == (4, 19, 32, 19)
    assert config.num_upsampling_layers == "normal" and not config.use_instance
    assert config.output_size == (256, 256) and config.latent_size == (8, 8)
    assert engine.network_size((512, 512)) == (256, 256)
    # opt.txt that disagrees with the tensors about the channel split loses to the tensors.
    shapes = {k: tuple(v) for k, v in inspect_checkpoint(sean_folder()).shapes.items()}
    odd = infer_config(shapes, {"label_nc": "30", "no_instance": "False", "num_upsampling_layers": "more"}, "x")
    assert (odd.label_nc, odd.use_instance, odd.num_upsampling_layers) == (19, False, "more")


def test_recognizes_only_sean():
    assert SeanEngine.recognizes(inspect_checkpoint(sean_folder()))
    spade = inspect_checkpoint(shared("refs", "spade_cityscapes", "checkpoints", "spade_cityscapes"))
    assert not SeanEngine.recognizes(spade)


def test_engine_module_does_not_import_torch():
    code = (
        "import sys, regionpaint.engines.sean.engine, regionpaint.engines.sean.plugin\n"
        "from regionpaint.engines.sean.engine import SeanEngine\n"
        "assert SeanEngine.id == 'sean' and len(SeanEngine.style_blocks) == 7\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_plugin_registers_engine():
    from regionpaint.engines.sean import plugin

    found = []
    plugin.register_engines(found.append)
    assert found == [SeanEngine]


def test_spade_checkpoint_is_refused_naming_the_file():
    folder = shared("refs", "spade_cityscapes", "checkpoints", "spade_cityscapes")
    with pytest.raises(CheckpointError, match="latest_net_G.pth.*not a SEAN"):
        SeanEngine().load(folder, device="cpu")


def test_truncated_checkpoint_is_refused(tmp_path):
    data = (sean_folder() / "latest_net_G.pth").read_bytes()
    (tmp_path / "latest_net_G.pth").write_bytes(data[: len(data) // 2])
    shutil.copy(sean_folder() / "opt.txt", tmp_path / "opt.txt")
    with pytest.raises(CheckpointError, match="latest_net_G.pth"):
        SeanEngine().load(tmp_path, device="cpu")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("drop", "missing key 'up_1.ace_0.fc_mu3.bias'"),
        ("shape", "key 'up_1.ace_0.fc_mu3.bias' has shape"),
        ("extra", "unexpected key 'up_1.ace_0.surplus'"),
    ],
)
def test_mismatched_state_dict_names_the_key(tmp_path, edit, message):
    state = torch.load(sean_folder() / "latest_net_G.pth", map_location="cpu", weights_only=True)
    key = "up_1.ace_0.fc_mu3.bias"
    if edit == "drop":
        del state[key]
    elif edit == "shape":
        state[key] = torch.zeros(7)
    else:
        state["up_1.ace_0.surplus"] = torch.zeros(1)
    path = tmp_path / "bad_net_G.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=message) as info:
        SeanEngine().load(path, device="cpu")
    assert str(path) in str(info.value)


def test_label_ids_out_of_range(engine, label):
    bad = label.copy()
    bad[:4, :4] = 19
    bad[-4:, -4:] = 40
    source = {"A": StyleSource("A", np.zeros((256, 256, 3), np.uint8), label)}
    with pytest.raises(InputError, match="ids 19, 40"):
        engine.generate(RenderRequest(label=bad, styles=source))
    with pytest.raises(InputError, match="ids 19, 40"):
        engine.encode_style(StyleSource("A", np.zeros((256, 256, 3), np.uint8), bad))
    with pytest.raises(InputError, match="integer"):
        engine.generate(RenderRequest(label=label.astype(np.float32), styles=source))


def test_render_sizes(engine, label):
    source = {"A": StyleSource("A", np.full((256, 256, 3), 120, np.uint8), label)}
    small = engine.generate(RenderRequest(label=label, styles=source, size=(128, 64), seed=0))
    assert small.tensor.shape == (1, 3, 64, 128) and small.image.shape == (64, 128, 3)
    assert small.info["size"] == (128, 64)
    with pytest.raises(InputError, match="multiples of 32"):
        engine.generate(RenderRequest(label=label, styles=source, size=(100, 64)))


def test_no_checkpoint_loaded():
    from regionpaint.engines.base import EngineError

    with pytest.raises(EngineError, match="no checkpoint"):
        SeanEngine().generate(RenderRequest(label=np.zeros((8, 8), np.uint8)))
