"""Refused checkpoints are explained in regionpaint's words: never torch's "weights_only=False" advice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.checkpoint import load_torch_file, load_weights, locate_files, read_sidecar

REPO = Path(__file__).resolve().parents[1]
UNSAFE_ADVICE = ("weights_only", "will likely succeed", "add_safe_globals", "arbitrary code")


class Payload:
    """Unpickling this would run ``print``: what a hostile checkpoint does with os.system."""

    def __reduce__(self):
        return (print, ("this must never run",))


def assert_regionpaint_words(message: str, path: Path) -> None:
    assert str(path) in message
    assert "\n" not in message
    for advice in UNSAFE_ADVICE:
        assert advice not in message, f"passes on torch's advice {advice!r}: {message}"


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_checkpoint_with_code_is_refused_with_safe_advice(tmp_path, legacy):
    path = tmp_path / "latest_net_G.pth"
    torch.save({"w": torch.zeros(2), "x": Payload()}, path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CheckpointError) as caught:
        load_torch_file(path)
    message = str(caught.value)
    assert_regionpaint_words(message, path)
    assert "Python objects beyond tensors" in message and "print" in message
    assert "never runs code" in message and "state_dict()" in message and ".safetensors" in message


def test_a_whole_pickled_model_names_its_class(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError) as caught:
        load_torch_file(path)
    assert_regionpaint_words(str(caught.value), path)
    assert "torch.nn.modules.linear.Linear" in str(caught.value)


@pytest.mark.parametrize(
    "content, problem",
    [(b"garbage" * 20, "not a PyTorch"), (None, "truncated or damaged")],
    ids=["garbage", "truncated"],
)
def test_damaged_torch_files(tmp_path, content, problem):
    path = tmp_path / "latest_net_G.pth"
    if content is None:
        torch.save({"w": torch.zeros(1000)}, path)
        content = path.read_bytes()[:500]
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as caught:
        load_torch_file(path)
    assert_regionpaint_words(str(caught.value), path)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "cut, problem", [(-5, "truncated or damaged"), (4, "not a valid .safetensors")], ids=["tail", "header"]
)
def test_damaged_safetensors(tmp_path, cut, problem):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"G.w": torch.zeros(10)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError) as caught:
        load_weights(locate_files(path))
    assert_regionpaint_words(str(caught.value), path)
    assert problem in str(caught.value) and "SafetensorError" not in str(caught.value)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{", "not valid JSON"),
        ('{"engine": 3}', "'engine' must be a string"),
        ('{"engine": "spade", "options": []}', "'options'"),
    ],
)
def test_damaged_sidecars(tmp_path, text, problem):
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(CheckpointError) as caught:
        read_sidecar(path)
    assert problem in str(caught.value) and str(path) in str(caught.value)


def test_the_cli_refuses_a_checkpoint_with_code_in_one_line(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    torch.save({"w": torch.zeros(2), "x": Payload()}, folder / "latest_net_G.pth")
    label = REPO / "assets" / "demo" / "streets.rpaint"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "regionpaint",
            "render",
            "--project",
            str(label),
            "--checkpoint",
            str(folder),
            "--out",
            str(tmp_path / "out.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("regionpaint: error: ") and "Traceback" not in result.stderr
    assert "this must never run" not in result.stdout + result.stderr
    assert "never runs code" in result.stderr
    for advice in UNSAFE_ADVICE:
        assert advice not in result.stderr


@pytest.mark.parametrize("line", ["aspect_ratio: 0", "crop_size: -4", "ngf: 1e12", "aspect_ratio: inf"])
def test_an_opt_txt_with_impossible_numbers_is_refused_naming_it(tmp_path, line):
    """Found by the fuzz suite: aspect_ratio 0 divided by zero inside the SPADE config."""
    from regionpaint.engines.loading.options import read_opt_txt

    path = tmp_path / "opt.txt"
    path.write_text(f"----------------- Options ---------------\n  label_nc: 35\n  {line}\n")
    with pytest.raises(CheckpointError) as caught:
        read_opt_txt(path)
    assert str(path) in str(caught.value) and "out of range" in str(caught.value)
