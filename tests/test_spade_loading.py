"""Loading SPADE checkpoints: options from tensor shapes (opt.txt as a hint), foreign or broken files,
safetensors round trips, recognition, and the torch-free engine listing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import CheckpointError, CheckpointInfo, RenderRequest
from regionpaint.engines.loading.checkpoint import inspect_checkpoint
from regionpaint.engines.spade.engine import SpadeEngine
from regionpaint.engines.spade.loading import infer_config
from tests.conftest import REPO
from tests.factories import make_tiny_checkpoint
from tests.test_spade_reference import (
    CITYSCAPES,
    SHARED,
    load_state,
    reference_generator,
    reference_semantics,
    require,
)

CITY_CKPT = CITYSCAPES / "checkpoints/spade_cityscapes"
SEAN_CKPT = SHARED / "refs/sean_celebahq/checkpoints/sean_celebahq"
PIX2PIXHD_CKPT = SHARED / "refs/pix2pixhd_global/checkpoints/pix2pixhd_global"


def _load(path, **kwargs) -> SpadeEngine:
    engine = SpadeEngine()
    engine.load(path, "cpu")
    for key, value in kwargs.items():
        setattr(engine, key, value)
    return engine


def _city_inputs() -> RenderRequest:
    case = require(CITYSCAPES)
    label = np.asarray(Image.open(case / "inputs/label_preprocessed.png"))
    instance = np.asarray(Image.open(case / "inputs/instance_preprocessed.png"))
    return RenderRequest(label=label, instance=instance)


def _tiny_label(h: int = 128, w: int = 256, classes: int = 5) -> np.ndarray:
    rows, cols = np.indices((h, w))
    return ((rows // 8 + cols // 24 + (rows * cols) // 900) % classes).astype(np.uint8)


def _reference(folder: Path, label: np.ndarray, channels: int, latent, num_up: str, instance=True):
    seg = reference_semantics(label.astype(np.int64), label.astype(np.int64) if instance else None, channels)
    with torch.no_grad():
        return reference_generator(load_state(folder / "latest_net_G.pth"), seg, latent, num_up)


# ---- options from the tensors ------------------------------------------------------------------------------


def test_official_folder_reads_opt_txt():
    engine = _load(require(CITY_CKPT))
    config = engine.config
    assert (config.label_nc, config.contain_dontcare_label, config.no_instance) == (35, False, False)
    assert (config.ngf, config.num_upsampling_layers, config.crop_size, config.aspect_ratio) == (4, "more", 256, 2.0)
    assert config.norm_G == "spectralspadesyncbatch3x3" and not engine.uses_vae
    assert config.label_set == "cityscapes" and config.notes == ()
    assert engine.network_size((1024, 2048)) == (256, 128)


def test_bare_pth_without_opt_txt_guesses_cityscapes_and_still_matches(tmp_path):
    """Without opt.txt: 36 channels -> Cityscapes (35 + instance), 'more', crop 512 (the official
    Cityscapes default); rendering at the reference's 256x128 reproduces the official output."""
    bare = tmp_path / "spade_city.pth"
    shutil.copy(require(CITY_CKPT) / "latest_net_G.pth", bare)
    engine = _load(bare)
    assert engine.config.label_set == "cityscapes" and engine.config.num_upsampling_layers == "more"
    assert engine.network_size((128, 256)) == (512, 256)
    assert any("guessed" in note for note in engine.config.notes)
    request = _city_inputs()
    request.size = (256, 128)
    out = engine.generate(request).tensor
    expected = torch.load(CITYSCAPES / "output.pt", weights_only=True)
    assert (out - expected).abs().max().item() < 1e-4


def test_opt_txt_disagreeing_with_the_tensors_loses(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "t", label_nc=5)  # 5 + instance = 6 channels
    opt = (folder / "opt.txt").read_text().replace("label_nc: 5 ", "label_nc: 9 ")
    (folder / "opt.txt").write_text(opt)
    engine = _load(folder)
    assert engine.config.semantic_nc == 6
    assert any("the tensors win" in note for note in engine.config.notes)


@pytest.mark.parametrize(
    ("num_up", "norm_G", "latent"),
    [
        ("more", "spectralspadesyncbatch3x3", (2, 4)),
        ("most", "spectralspadesyncbatch3x3", (1, 2)),
        ("normal", "spectralspadeinstance3x3", (4, 8)),
        ("normal", "spadebatch5x5", (4, 8)),
    ],
)
def test_architecture_variants_match_the_reference_forward(tmp_path, num_up, norm_G, latent):
    """more vs normal (same keys: opt.txt decides), most (up_4 present), instance norm, no spectral norm,
    5x5 SPADE kernels: the engine agrees with the independent reference forward at 256x128."""
    folder = make_tiny_checkpoint(tmp_path / "t", num_upsampling_layers=num_up, norm_G=norm_G, seed=3)
    engine = _load(folder)
    assert engine.config.num_upsampling_layers == num_up
    assert engine.config.norm_G == norm_G
    label = _tiny_label()
    result = engine.generate(RenderRequest(label=label, instance=label))
    expected = _reference(folder, label, 5, latent, num_up)
    assert result.tensor.shape == expected.shape == (1, 3, 128, 256)
    assert (result.tensor - expected).abs().max().item() < 1e-4


def test_most_is_read_from_up_4_even_without_opt_txt(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "t", num_upsampling_layers="most", write_opt=False)
    shapes = {k: tuple(v.shape) for k, v in load_state(folder / "latest_net_G.pth").items()}
    assert infer_config(shapes, {}, folder).num_upsampling_layers == "most"
    assert infer_config(shapes, {"num_upsampling_layers": "normal"}, folder).num_upsampling_layers == "most"


def test_vae_latent_grid_comes_from_the_fc_size():
    spec = json.loads(require(SHARED / "specs/spade_coco_vae_default.json").read_text())
    shapes = {k: tuple(s) for k, s, _ in spec["nets"]["G"]["keys"]}
    config = infer_config(shapes, {}, "coco")
    assert (config.crop_size, config.num_upsampling_layers, config.latent_size) == (256, "normal", (8, 8))
    # opt says 'normal' at 256 but fc holds a 4x4 grid: 'more' fits, and the note says so.
    shapes["fc.weight"], shapes["fc.bias"] = (16 * 64 * 16, 256), (16 * 64 * 16,)
    config = infer_config(shapes, {"crop_size": "256", "num_upsampling_layers": "normal"}, "coco")
    assert config.num_upsampling_layers == "more" and config.latent_size == (4, 4) and config.notes
    shapes["fc.weight"] = (16 * 64 * 7, 256)
    with pytest.raises(CheckpointError, match="fc.weight"):
        infer_config(shapes, {}, "coco")


# ---- broken and foreign checkpoints --------------------------------------------------------------------


@pytest.mark.parametrize(("folder", "engine_name"), [(SEAN_CKPT, "SEAN"), (PIX2PIXHD_CKPT, "pix2pixHD")])
def test_other_engines_checkpoints_are_refused_naming_the_file(folder, engine_name):
    with pytest.raises(CheckpointError, match=engine_name) as error:
        SpadeEngine().load(require(folder), "cpu")
    assert "latest_net_G.pth" in str(error.value)


def test_truncated_file_is_a_checkpoint_error_naming_it(tmp_path):
    source = require(CITY_CKPT) / "latest_net_G.pth"
    cut = tmp_path / "latest_net_G.pth"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="latest_net_G.pth"):
        SpadeEngine().load(cut, "cpu")


@pytest.mark.parametrize("damage", ["missing", "unexpected", "shape"])
def test_damaged_state_dict_names_the_file_and_key(tmp_path, damage):
    folder = make_tiny_checkpoint(tmp_path / "t", write_opt=False)
    state = load_state(folder / "latest_net_G.pth")
    if damage == "missing":
        del state["up_2.conv_1.weight_u"]
    elif damage == "unexpected":
        state["up_2.extra.weight"] = torch.zeros(1)
    else:
        state["up_2.norm_1.mlp_beta.bias"] = torch.zeros(3)
    torch.save(state, folder / "latest_net_G.pth")
    with pytest.raises(CheckpointError) as error:
        SpadeEngine().load(folder, "cpu")
    message = str(error.value)
    assert "latest_net_G.pth" in message and "up_2." in message


def test_missing_core_key_is_not_a_spade_generator(tmp_path):
    path = tmp_path / "g.pth"
    torch.save({"conv.weight": torch.zeros(1, 1, 1, 1)}, path)
    with pytest.raises(CheckpointError, match="not a SPADE generator"):
        SpadeEngine().load(path, "cpu")


# ---- safetensors ------------------------------------------------------------------------------------------


def test_safetensors_round_trip_renders_identically(tmp_path):
    engine = _load(require(CITY_CKPT))
    before = engine.generate(_city_inputs()).tensor
    saved = engine.save(tmp_path / "city.safetensors")
    sidecar = json.loads(saved.with_suffix(".json").read_text())
    assert sidecar["engine"] == "spade" and sidecar["label_set"] == "cityscapes"
    assert sidecar["options"]["num_upsampling_layers"] == "more"
    info = inspect_checkpoint(saved)
    assert SpadeEngine.recognizes(info)
    reloaded = _load(saved)
    assert reloaded.config == engine.config
    # Bit for bit: the reloaded weights are the saved ones, run through the same kernels on the same shapes.
    assert torch.equal(reloaded.generate(_city_inputs()).tensor, before)


def test_safetensors_keeps_the_vae_encoder(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "v", use_vae=True, seed=2)
    engine = _load(folder)
    saved = engine.save(tmp_path / "out" / "vae")
    reloaded = _load(saved)
    assert reloaded.uses_vae and reloaded.has_encoder and reloaded.config == engine.config
    photo = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    from regionpaint.engines.base import StyleSource

    request = RenderRequest(label=_tiny_label(), styles={"p": StyleSource("p", photo)})
    assert torch.equal(engine.generate(request).tensor, reloaded.generate(request).tensor)


def test_sidecar_of_another_engine_is_refused(tmp_path):
    engine = _load(require(CITY_CKPT))
    saved = engine.save(tmp_path / "x.safetensors")
    sidecar = json.loads(saved.with_suffix(".json").read_text())
    sidecar["engine"] = "sean"
    saved.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(CheckpointError, match="sean"):
        SpadeEngine().load(saved, "cpu")


# ---- recognition, plugin, torch-free listing -------------------------------------------------------------


def test_recognizes_spade_but_not_sean_or_pix2pixhd():
    assert SpadeEngine.recognizes(inspect_checkpoint(require(CITY_CKPT)))
    assert not SpadeEngine.recognizes(inspect_checkpoint(require(SEAN_CKPT)))
    assert not SpadeEngine.recognizes(inspect_checkpoint(require(PIX2PIXHD_CKPT)))
    declared = CheckpointInfo(path=Path("x"), files={}, opt={}, shapes={}, declared_engine="spade")
    assert SpadeEngine.recognizes(declared)
    declared.declared_engine = "sean"
    assert not SpadeEngine.recognizes(declared)


def test_plugin_registers_the_engine():
    from regionpaint.engines.spade import plugin

    registered = []
    plugin.register_engines(registered.append)
    assert registered == [SpadeEngine]
    assert SpadeEngine.id == "spade" and "coco-stuff" in SpadeEngine.label_sets


def test_engine_module_imports_without_torch():
    code = (
        "import sys, regionpaint.engines.spade.engine, regionpaint.engines.spade.plugin; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_state_dict_folding_equals_torch_spectral_norm_in_eval(tmp_path):
    """The engine folds weight_orig/u/v on the state dict; torch's spectral_norm hooks in eval mode (the
    official forward) and fold_spectral_norm give bit-identical weights."""
    from regionpaint.engines.loading.spectral import fold_spectral_norm
    from regionpaint.engines.spade.networks import SPADEGenerator

    folder = make_tiny_checkpoint(tmp_path / "t", seed=4)
    engine = _load(folder)
    hooked = SPADEGenerator(engine.config)
    hooked.load_state_dict(load_state(folder / "latest_net_G.pth"))
    hooked.eval()
    label = _tiny_label()
    request = RenderRequest(label=label, instance=label)
    seg = reference_semantics(label.astype(np.int64), label.astype(np.int64), 5)
    with torch.no_grad():
        official_eval = hooked(seg)
        assert fold_spectral_norm(hooked) == 18  # conv_0 + conv_1 of 7 blocks, conv_s of up_0..up_3
        folded = hooked(seg)
    # Bit for bit: folding computes weight_orig / sigma with torch's own arithmetic, and the engine runs the
    # same modules on the same shapes in this process (a different fold would be ulps off, and show).
    assert torch.equal(official_eval, folded)
    # The engine's render runs in its own memory layout (channels-last on CPU: acceleration.fast.activation_input),
    # whose convolutions sum in another order; the same modules on a segmap in that layout are bit-identical.
    from regionpaint.engines.acceleration.fast import activation_input

    with torch.no_grad():
        folded_in_render_layout = hooked(activation_input(seg, False))
    assert torch.equal(engine.generate(request).tensor, folded_in_render_layout)
    assert torch.allclose(folded_in_render_layout, folded, atol=1e-5)
