"""pix2pixHD's resize_or_crop pipelines (official data/base_dataset.py), recognition and registration."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.engines.base import CheckpointInfo
from regionpaint.engines.pix2pixhd.engine import Pix2PixHDEngine
from regionpaint.engines.pix2pixhd.preprocess import Preprocessing, padded_crop, power_2_size
from tests.conftest import REPO

REFS = REPO.parent / "shared" / "refs"


def _ids(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 35, (h, w)).astype(np.uint8)


def _pil(array: np.ndarray, size, method) -> np.ndarray:
    return np.asarray(Image.fromarray(array).resize(size, method))


def test_scale_width_like_pil():
    pre = Preprocessing("scale_width", load_size=256)
    label = _ids(100, 300)
    assert pre.output_size((300, 100)) == (256, 85)  # int(256 * 100 / 300)
    assert np.array_equal(pre.ids(label), _pil(label, (256, 85), Image.NEAREST))
    photo = np.random.RandomState(1).randint(0, 256, (100, 300, 3)).astype(np.uint8)
    assert np.array_equal(pre.photo(photo), _pil(photo, (256, 85), Image.BICUBIC))
    already = pre.ids(label)
    assert np.array_equal(pre.ids(already), already)  # idempotent on network-size maps


def test_resize_and_crop_uses_seeded_get_params():
    pre = Preprocessing("resize_and_crop", load_size=64, fine_size=48)
    label = _ids(50, 80)
    x, y = pre.crop_position((80, 50), seed=9)
    random.seed(9)  # what the official get_params draws after random.seed(9)
    assert (x, y) == (random.randint(0, 64 - 48), random.randint(0, 64 - 48))
    expected = np.asarray(Image.fromarray(label).resize((64, 64), Image.NEAREST).crop((x, y, x + 48, y + 48)))
    assert np.array_equal(pre.ids(label, (x, y)), expected)
    assert pre.output_size((80, 50)) == (48, 48)


def test_crop_pads_with_zeros_like_pil():
    label = _ids(20, 40) + 1
    for pos in [(0, 0), (5, 0), (12, 0)]:
        ours = padded_crop(label, pos, 28)
        pil = np.asarray(Image.fromarray(label).crop((pos[0], pos[1], pos[0] + 28, pos[1] + 28)))
        assert np.array_equal(ours, pil)
    assert padded_crop(label[:10, :10], (0, 0), 28).shape == (10, 10)  # smaller image: unchanged


def test_none_rounds_to_the_network_base():
    assert power_2_size((80, 48), 32) == (64, 64)  # round(2.5) == 2 and round(1.5) == 2 (half to even)
    assert power_2_size((1000, 500), 32) == (992, 512)
    pre = Preprocessing("none", base=32)
    label = _ids(500, 1000)
    assert np.array_equal(pre.ids(label), _pil(label, (992, 512), Image.NEAREST))
    ok = _ids(64, 96)
    assert np.array_equal(pre.ids(ok), ok)


def test_scale_width_and_crop():
    pre = Preprocessing("scale_width_and_crop", load_size=64, fine_size=32)
    label = _ids(60, 120)
    pos = pre.crop_position((120, 60), seed=0)
    assert 0 <= pos[0] <= 32 and pos[1] == 0
    scaled = _pil(label, (64, 32), Image.NEAREST)
    assert np.array_equal(pre.ids(label, pos), padded_crop(scaled, pos, 32))


def _spec_shapes(name: str) -> dict[str, tuple[int, ...]]:
    import json

    path = REPO.parent / "shared" / "specs" / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return {k: tuple(s) for k, s, _ in json.loads(path.read_text())["nets"]["G"]["keys"]}


def _info(shapes, declared=None) -> CheckpointInfo:
    return CheckpointInfo(path=Path("x"), files={}, opt={}, shapes=shapes, declared_engine=declared)


def test_recognizes_pix2pixhd_keys_only():
    for name in ["pix2pixhd_global_512p_default.json", "pix2pixhd_local_1024p_default.json"]:
        assert Pix2PixHDEngine.recognizes(_info(_spec_shapes(name)))
    spade = _spec_shapes("spade_cityscapes_default.json")
    assert not Pix2PixHDEngine.recognizes(_info(spade))
    sean = _spec_shapes("sean_celebahq_default.json")
    assert not Pix2PixHDEngine.recognizes(_info(sean))
    assert Pix2PixHDEngine.recognizes(_info({}, declared="pix2pixhd"))
    assert not Pix2PixHDEngine.recognizes(_info(_spec_shapes("pix2pixhd_global_512p_default.json"), "spade"))


def test_engine_module_and_plugin_do_not_import_torch():
    code = (
        "import sys\n"
        "from regionpaint.engines.pix2pixhd import plugin\n"
        "seen = []\n"
        "plugin.register_engines(seen.append)\n"
        "cls = seen[0]\n"
        "assert cls.id == 'pix2pixhd' and cls.display_name == 'pix2pixHD', cls\n"
        "assert cls.capabilities == {'instance_map', 'instance_features'}\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
