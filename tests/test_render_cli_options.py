"""Every `regionpaint render` option does what it says, on tiny real checkpoints built at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.app.cli import main
from regionpaint.engines.base import StyleSource
from regionpaint.engines.pix2pixhd.architecture import EncoderArch, GeneratorArch, InputLayout
from regionpaint.engines.spade.engine import SpadeEngine
from tests.conftest import require_shared
from tests.factories import make_tiny_checkpoint, random_clusters, write_checkpoint

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

LABEL_NC = 5


def _save(tmp_path: Path, name: str, array: np.ndarray) -> str:
    path = tmp_path / name
    Image.fromarray(array).save(path)
    return str(path)


def _render(tmp_path: Path, *args: str) -> torch.Tensor:
    out = tmp_path / "render.pt"
    assert (
        main(["render", *args, "--device", "cpu", "--out", str(tmp_path / "render.png"), "--save-tensor", str(out)])
        == 0
    )
    return torch.load(out, weights_only=True)


@pytest.fixture(scope="module")
def vae_checkpoint(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("vae") / "spade_vae", label_nc=LABEL_NC, use_vae=True, seed=3)


@pytest.fixture
def vae_inputs(tmp_path):
    rows, cols = np.indices((128, 256))
    label = ((rows // 16 + cols // 32) % LABEL_NC).astype(np.uint8)
    photo = np.random.RandomState(1).randint(0, 256, (150, 300, 3)).astype(np.uint8)
    return _save(tmp_path, "label.png", label), _save(tmp_path, "photo.png", photo), photo


def test_spade_vae_style_image_sets_z_to_the_encoder_mean(tmp_path, vae_checkpoint, vae_inputs):
    label, photo_path, photo = vae_inputs
    from_style = _render(tmp_path, "--checkpoint", str(vae_checkpoint), "--label", label, "--style", f"A={photo_path}")
    engine = SpadeEngine()
    engine.load(vae_checkpoint, "cpu")
    mu = engine.encode_style(StyleSource("A", photo))["mu"]
    z_file = tmp_path / "z.pt"
    torch.save(torch.as_tensor(mu), z_file)
    from_z = _render(tmp_path, "--checkpoint", str(vae_checkpoint), "--label", label, "--z", str(z_file))
    assert torch.equal(from_style, from_z)


def test_spade_vae_sample_is_seeded(tmp_path, vae_checkpoint, vae_inputs):
    label, photo_path, _ = vae_inputs
    args = ["--checkpoint", str(vae_checkpoint), "--label", label, "--style", f"A={photo_path}"]
    mean = _render(tmp_path, *args)
    first = _render(tmp_path, *args, "--sample", "--seed", "5")
    again = _render(tmp_path, *args, "--sample", "--seed", "5")
    other = _render(tmp_path, *args, "--sample", "--seed", "6")
    assert torch.equal(first, again)
    assert (first - mean).abs().max() > 1e-3 and (first - other).abs().max() > 1e-3


def test_spade_vae_without_style_draws_z_from_the_seed(tmp_path, vae_checkpoint, vae_inputs):
    label, _, _ = vae_inputs
    seeded = _render(tmp_path, "--checkpoint", str(vae_checkpoint), "--label", label, "--seed", "11")
    z_file = tmp_path / "z.pt"
    torch.save(torch.randn(1, 256, generator=torch.Generator().manual_seed(11)), z_file)
    explicit = _render(tmp_path, "--checkpoint", str(vae_checkpoint), "--label", label, "--z", str(z_file))
    assert torch.equal(seeded, explicit)


@pytest.fixture(scope="module")
def feature_checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("p2p") / "pix2pixhd_feat"
    arch = GeneratorArch("global", LABEL_NC + 1 + 3, 4, 2, 1, 0, 0, "instance")
    clusters = random_clusters([1, 2, 3], 3, n_clusters=6, seed=4)
    write_checkpoint(
        folder,
        arch,
        InputLayout(LABEL_NC, True, 3),
        encoder=EncoderArch(3, 3, 4, 2, "instance"),
        clusters=clusters,
        seed=7,
    )
    return folder


@pytest.fixture
def street(tmp_path):
    label = np.zeros((32, 48), np.uint8)
    label[:16], label[16:, :24], label[16:, 24:] = 1, 2, 4
    label[4:12, 4:20] = label[4:12, 28:40] = 3
    instance = label.astype(np.uint16)
    instance[4:12, 4:20], instance[4:12, 28:40] = 3001, 3002
    photo = np.random.RandomState(0).randint(0, 256, (32, 48, 3)).astype(np.uint8)
    return ["--label", _save(tmp_path, "l.png", label), "--instance", _save(tmp_path, "i.png", instance)], photo


def test_pix2pixhd_cluster_picks_per_instance_and_per_class(tmp_path, feature_checkpoint, street):
    inputs, _ = street
    base = ["--checkpoint", str(feature_checkpoint), *inputs, "--size", "48x32", "--seed", "0"]
    car_a = _render(tmp_path, *base, "--instance-cluster", "3001=0", "--instance-cluster", "3002=0")
    car_b = _render(tmp_path, *base, "--instance-cluster", "3001=5", "--instance-cluster", "3002=0")
    assert (car_a - car_b)[..., 4:12, 4:20].abs().max() > 1e-3  # the changed car changes
    by_class = _render(tmp_path, *base, "--class-cluster", "3=0")
    assert torch.equal(by_class, car_a)  # every instance of class 3 took cluster 0


def test_pix2pixhd_style_photo_encodes_instance_features(tmp_path, feature_checkpoint, street):
    inputs, photo = street
    base = ["--checkpoint", str(feature_checkpoint), *inputs, "--size", "48x32", "--seed", "0"]
    from_clusters = _render(tmp_path, *base)
    from_photo = _render(tmp_path, *base, "--style", f"A={_save(tmp_path, 'p.png', photo)}")
    assert (from_photo - from_clusters).abs().max() > 1e-3


def test_size_renders_at_another_network_size(tmp_path):
    case = require_shared("refs", "spade_cityscapes")
    out = _render(
        tmp_path,
        "--checkpoint",
        str(case / "checkpoints/spade_cityscapes"),
        "--label",
        str(case / "inputs/label_preprocessed.png"),
        "--instance",
        str(case / "inputs/instance_preprocessed.png"),
        "--size",
        "128x64",
    )
    assert out.shape == (1, 3, 64, 128)


def test_safetensors_checkpoint_renders_like_the_official_folder(tmp_path, vae_checkpoint, vae_inputs):
    label, photo_path, _ = vae_inputs
    engine = SpadeEngine()
    engine.load(vae_checkpoint, "cpu")
    converted = engine.save(tmp_path / "converted.safetensors")
    args = ["--label", label, "--style", f"A={photo_path}"]
    assert torch.equal(
        _render(tmp_path, "--checkpoint", str(vae_checkpoint), *args),
        _render(tmp_path, "--checkpoint", str(converted), *args),
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_unavailable_device_is_one_clear_line(tmp_path, vae_checkpoint, vae_inputs, capsys):
    label, _, _ = vae_inputs
    code = main(
        [
            "render",
            "--checkpoint",
            str(vae_checkpoint),
            "--label",
            label,
            "--device",
            "cuda",
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "CUDA" in err


def _project_with_tiny_spade(tmp_path: Path, checkpoint: Path, label: np.ndarray) -> Path:
    from regionpaint.app.model import Document, edits
    from regionpaint.app.model.project import save_project

    doc = Document(label, "cityscapes")
    edits.set_engine_settings(doc, checkpoint=checkpoint.name, device="cpu", seed=4)  # relative to the project
    project = checkpoint.parent / "scene.rpaint"
    save_project(doc, project)
    return project


def test_render_project_takes_everything_from_the_file_and_flags_override(tmp_path, vae_checkpoint, vae_inputs):
    label_path, photo_path, _ = vae_inputs
    label = np.asarray(Image.open(label_path))
    project = _project_with_tiny_spade(tmp_path, vae_checkpoint, label)
    from_project = _render(tmp_path, "--project", str(project))
    direct = _render(tmp_path, "--checkpoint", str(vae_checkpoint), "--label", label_path, "--seed", "4")
    assert torch.equal(from_project, direct)  # the project's label, checkpoint and seed were used
    reseeded = _render(tmp_path, "--project", str(project), "--seed", "9")
    assert torch.equal(
        reseeded, _render(tmp_path, "--checkpoint", str(vae_checkpoint), "--label", label_path, "--seed", "9")
    )
    styled = _render(tmp_path, "--project", str(project), "--style", f"A={photo_path}")
    assert (styled - from_project).abs().max() > 1e-3


def test_render_project_sean_reproduces_the_reference(tmp_path):
    from regionpaint.app.model import Document, StyleSourceData, edits
    from regionpaint.app.model.imports import read_label_map, read_photo
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ
    from regionpaint.app.model.project import save_project

    case = require_shared("refs", "sean_celebahq")
    data = case / "datasets/CelebA-HQ/test"
    label = read_label_map(data / "labels_A/28083.png", CELEBAMASK_HQ)
    doc = Document(label, CELEBAMASK_HQ.id)
    # The document keeps a style label at its photo's size: 2x nearest upscaling (pixel repetition) gives
    # the same network-size map as the official resize of the 512 px original.
    style_label = label.repeat(2, axis=0).repeat(2, axis=1)
    edits.add_style_source(doc, "A", StyleSourceData(read_photo(data / "images_A/28083.jpg"), style_label))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 1.0),))
    edits.set_engine_settings(doc, checkpoint=str(case / "checkpoints/sean_celebahq"), device="cpu", noise=False)
    save_project(doc, tmp_path / "face.rpaint")
    out = _render(tmp_path, "--project", str(tmp_path / "face.rpaint"))
    assert (out - torch.load(case / "output_nonoise.pt", weights_only=True)).abs().max() < 1e-4
    with_noise = _render(tmp_path, "--project", str(tmp_path / "face.rpaint"), "--seed", "0")
    assert torch.equal(with_noise, out)  # the project says no noise; --seed alone does not switch it on


def test_sean_mean_and_random_styles_from_a_folder(tmp_path):
    from tools.demo.dataset import write_dataset

    case = require_shared("refs", "sean_celebahq")
    folder = tmp_path / "styles"
    write_dataset("faces", folder, 3, 256, seed=5)  # train/images + train/labels
    label = case / "inputs/label_preprocessed.png"
    base = [
        "--checkpoint",
        str(case / "checkpoints/sean_celebahq"),
        "--label",
        str(label),
        "--style",
        f"A={case / 'datasets/CelebA-HQ/test/images_A/28083.jpg'}:{label}",
        "--no-noise",
    ]
    pure = _render(tmp_path, *base)
    mean = _render(tmp_path, *base, "--region-style", "hair=@mean", "--mean-styles", str(folder))
    random_1 = _render(tmp_path, *base, "--region-style", "hair=@random", "--mean-styles", str(folder), "--seed", "1")
    random_2 = _render(tmp_path, *base, "--region-style", "hair=@random", "--mean-styles", str(folder), "--seed", "2")
    assert (mean - pure).abs().max() > 1e-3
    assert (random_1 - random_2).abs().max() > 1e-3 and (random_1 - mean).abs().max() > 1e-3


def test_mean_styles_need_an_engine_with_style_codes(tmp_path, vae_checkpoint, vae_inputs, capsys):
    label, _, _ = vae_inputs
    code = main(
        [
            "render",
            "--checkpoint",
            str(vae_checkpoint),
            "--label",
            label,
            "--mean-styles",
            str(tmp_path),
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    assert code != 0 and "--mean-styles" in capsys.readouterr().err
